// The search page: Pagefind's UI, under the site's base path, starting from ?q= if given.
(function () {
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  var ui = new PagefindUI({
    element: "#search",
    baseUrl: box.dataset.base,
    bundlePath: box.dataset.bundle,
    showImages: false,
    showSubResults: false,
    resetStyles: false,
  });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
})();

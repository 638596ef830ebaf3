// The search page: Pagefind's UI, under the site's base path. The query lives in the address
// (?q=), so that Back, reload and a shared link bring the same results back.
(function () {
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  var ui = new PagefindUI({
    element: "#search",
    baseUrl: box.dataset.base,
    bundlePath: box.dataset.bundle,
    // the index's other parts (one Pagefind bundle for each group of years)
    mergeIndex: JSON.parse(box.dataset.merge || "[]").map(function (path) {
      return { bundlePath: path };
    }),
    showImages: false,
    showSubResults: false,
    resetStyles: false,
  });
  var ready = new MutationObserver(function () {
    var input = box.querySelector("input.pagefind-ui__search-input");
    if (!input) return;
    ready.disconnect();
    // Pagefind's input has only a placeholder: give it a name screen readers announce.
    input.setAttribute("aria-label", "Search the archive");
    input.setAttribute("type", "search");
    input.addEventListener("input", function () {
      var address = new URL(window.location.href);
      if (input.value.trim()) address.searchParams.set("q", input.value);
      else address.searchParams.delete("q");
      history.replaceState(null, "", address);
    });
  });
  ready.observe(box, { childList: true, subtree: true });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
})();

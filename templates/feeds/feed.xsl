<?xml version="1.0" encoding="utf-8"?>
{# Shows a feed (RSS or Atom) as a page when a reader opens it in a browser; feed readers
   ignore it. Rendered like any template, so that it links the site's own stylesheet. #}
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:atom="http://www.w3.org/2005/Atom" exclude-result-prefixes="atom">
<xsl:output method="html" encoding="utf-8" doctype-system="about:legacy-compat"/>
<xsl:variable name="title" select="rss/channel/title | atom:feed/atom:title"/>
<xsl:variable name="address" select="rss/channel/atom:link[@rel='self']/@href | atom:feed/atom:link[@rel='self']/@href"/>
<xsl:template match="/">
<html lang="{{ site.language|e }}">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Feed: <xsl:value-of select="$title"/></title>
<link rel="stylesheet" href="{{ href(urls.STATIC + 'style.css')|e }}"/>
<link rel="icon" href="{{ href(urls.STATIC + 'favicon.svg')|e }}" type="image/svg+xml"/>
</head>
<body>
<header class="site-header">
  <p class="site-title"><a href="{{ href(urls.home())|e }}">{{ site.title|e }}</a></p>
</header>
<main id="main">
<h1><xsl:value-of select="$title"/></h1>
<p class="lede">This is a <strong>news feed</strong>: a web address that a feed reader checks for new posts, so
that they come to you. To subscribe, copy this address into your feed reader.</p>
<p><code class="feed-url"><xsl:value-of select="$address"/></code></p>
<p><a href="{{ href(urls.subscribe())|e }}">What is a feed reader, and how to subscribe</a> ·
<a href="{{ href(urls.home())|e }}">Go to the website</a></p>
<h2>The newest posts in this feed</h2>
<xsl:for-each select="rss/channel/item">
  <article class="summary">
    <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
    <p class="meta"><xsl:value-of select="substring(pubDate, 6, 11)"/></p>
  </article>
</xsl:for-each>
<xsl:for-each select="atom:feed/atom:entry">
  <article class="summary">
    <h3><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h3>
    <p class="meta"><xsl:value-of select="substring(atom:published, 1, 10)"/></p>
    <p><xsl:value-of select="atom:summary"/></p>
  </article>
</xsl:for-each>
</main>
</body>
</html>
</xsl:template>
</xsl:stylesheet>

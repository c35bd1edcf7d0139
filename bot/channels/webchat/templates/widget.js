// Front Door chat for a partner's website: one line,
//   <script src="https://FRONT-DOOR-ADDRESS/chat/widget.js" defer></script>
// It adds a "Chat with us" button; the chat opens in a frame served by Front
// Door (which refuses to be framed by any site not listed in its content).
// Quick exit works from the frame and from this page (Shift 3 times once the
// chat is open): the page is replaced by a neutral site and the chat ends.
// Nothing is stored on the device; no cookies are set.
(function () {
  "use strict";
  var settings = __FRONTDOOR_SETTINGS__;
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var base = new URL(script.src).origin;
  if (settings.origins.indexOf(window.location.origin) === -1) {
    if (window.console) { window.console.warn("Front Door chat: this site is not listed as allowed"); }
    return;
  }
  var asked = (script.getAttribute("data-lang") || document.documentElement.lang || "en")
    .toLowerCase().split(/[-_]/)[0];
  var lang = settings.labels[asked] ? asked : "en";
  var labels = settings.labels[lang];
  var dir = settings.dirs[lang] || "ltr";
  var colours = settings.colours;
  var panel = null;
  var frame = null;
  var leaving = false;
  var gone = false;

  function go() { // one navigation only: a second would abort the first
    if (gone) { return; }
    gone = true;
    if (panel) { panel.style.display = "none"; }
    window.location.replace(settings.exit);
  }

  function button(text, background, colour) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.style.font = "inherit";
    b.style.fontWeight = "700";
    b.style.padding = "0.55rem 1rem";
    b.style.border = "2px solid " + background;
    b.style.borderRadius = "4px";
    b.style.background = background;
    b.style.color = colour;
    b.style.cursor = "pointer";
    return b;
  }

  function leave() {
    if (leaving) { return; }
    leaving = true;
    // Hidden, not removed: the frame must live long enough to end the chat.
    if (panel) { panel.style.display = "none"; }
    if (frame && frame.contentWindow) {
      frame.contentWindow.postMessage({ frontdoor: "exit" }, base); // the frame ends the chat
    }
    window.setTimeout(go, 300); // at once when the frame answers, else after this
  }

  function open() {
    if (panel) { panel.style.display = "flex"; frame.focus(); return; }
    panel = document.createElement("div");
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", labels.title);
    panel.setAttribute("dir", dir);
    panel.lang = lang;
    panel.className = "frontdoor-chat";
    var s = panel.style;
    s.position = "fixed"; s.zIndex = "2147483000"; s.insetInlineEnd = "0"; s.bottom = "0";
    s.width = "min(26rem, 100vw)"; s.height = "min(40rem, 100vh)";
    s.display = "flex"; s.flexDirection = "column"; s.background = "#fff";
    s.border = "1px solid #6b7280"; s.boxShadow = "0 0 12px rgba(0,0,0,0.3)";
    var bar = document.createElement("div");
    bar.style.display = "flex"; bar.style.justifyContent = "space-between"; bar.style.gap = "0.5rem";
    bar.style.padding = "0.4rem";
    var exit = button(labels.exit, colours.exit, colours.exit_text);
    exit.className = "frontdoor-exit";
    exit.addEventListener("click", leave);
    var close = button(labels.close, "#ffffff", colours.accent);
    close.style.border = "2px solid " + colours.accent;
    close.addEventListener("click", function () {
      panel.style.display = "none";
      launcher.focus();
    });
    bar.appendChild(exit);
    bar.appendChild(close);
    frame = document.createElement("iframe");
    frame.src = base + "/chat?embed=1&lang=" + encodeURIComponent(lang);
    frame.title = labels.title;
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.style.flex = "1"; frame.style.border = "0"; frame.style.width = "100%";
    panel.appendChild(bar);
    panel.appendChild(frame);
    document.body.appendChild(panel);
    frame.focus();
  }

  var launcher = button(labels.open, colours.accent, colours.accent_text);
  launcher.className = "frontdoor-open";
  launcher.lang = lang;
  launcher.setAttribute("dir", dir);
  launcher.style.position = "fixed"; launcher.style.bottom = "1rem"; launcher.style.insetInlineEnd = "1rem";
  launcher.style.zIndex = "2147482999";
  launcher.addEventListener("click", open);

  window.addEventListener("message", function (event) {
    if (event.origin === base && frame && event.source === frame.contentWindow &&
        event.data && event.data.frontdoor === "exit") {
      leaving = true;
      go();
    }
  });

  var presses = [];
  document.addEventListener("keydown", function (event) {
    if (!panel) { return; } // only once the chat has been opened on this page
    if (event.key !== "Shift") { presses = []; return; }
    if (event.repeat) { return; }
    var now = Date.now();
    presses = presses.filter(function (at) { return now - at < 5000; });
    presses.push(now);
    if (presses.length >= 3) { leave(); }
  });

  function place() { document.body.appendChild(launcher); }
  if (document.body) { place(); } else { document.addEventListener("DOMContentLoaded", place); }
})();

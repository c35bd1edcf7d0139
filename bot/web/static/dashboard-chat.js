/* Front Door dashboard, live chat: the reply box's SMS segment counter and
   saved replies. A static file because the Content-Security-Policy allows no
   inline script. The server counts again before sending (bot/text.py,
   sms_segments), with the same GSM 03.38 tables as these; the words shown
   live in the template (chat.html), this file only fills in numbers. */
(function () {
  "use strict";

  // GSM 03.38: characters of one septet, and those that take two (escape + char).
  var GSM_BASIC = "\n\r\u001b !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz\u00a1\u00a3\u00a4\u00a5\u00a7\u00bf\u00c4\u00c5\u00c6\u00c7\u00c9\u00d1\u00d6\u00d8\u00dc\u00df\u00e0\u00e4\u00e5\u00e6\u00e8\u00e9\u00ec\u00f1\u00f2\u00f6\u00f8\u00f9\u00fc\u0393\u0394\u0398\u039b\u039e\u03a0\u03a3\u03a6\u03a8\u03a9";
  var GSM_EXTENDED = "\f[\\]^{|}~\u20ac";

  function count(text) {
    var septets = 0;
    var gsm = true;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (GSM_BASIC.indexOf(ch) >= 0) {
        septets += 1;
      } else if (GSM_EXTENDED.indexOf(ch) >= 0) {
        septets += 2;
      } else {
        gsm = false;
        break;
      }
    }
    if (text.length === 0) {
      return { encoding: "GSM-7", segments: 0 };
    }
    if (gsm) {
      return { encoding: "GSM-7", segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
    }
    var units = text.length; // UTF-16 code units, as UCS-2 carries them
    return { encoding: "UCS-2", segments: units <= 70 ? 1 : Math.ceil(units / 67) };
  }

  function show(box) {
    var text = box.value.replace(/\r\n/g, "\n").trim();
    var counted = count(text);
    var form = box.form;
    var limit = parseInt(box.getAttribute("data-segment-limit") || "2", 10);
    var set = function (name, value) {
      var found = form.querySelector('[data-count="' + name + '"]');
      if (found) {
        found.textContent = String(value);
      }
    };
    set("characters", text.length);
    set("encoding", counted.encoding);
    set("segments", counted.segments);
    var warning = form.querySelector('[data-count="long"]');
    if (warning) {
      warning.hidden = counted.segments <= limit;
    }
  }

  function ready() {
    var box = document.querySelector("textarea[data-segment-counter]");
    if (!box) {
      return;
    }
    box.addEventListener("input", function () { show(box); });
    show(box);
    var saved = document.getElementById("saved-reply");
    if (saved) {
      saved.addEventListener("change", function () {
        var option = saved.options[saved.selectedIndex];
        var text = option ? option.getAttribute("data-text") : null;
        if (text) {
          box.value = text;
          show(box);
          box.focus();
        }
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
}());

// Front Door web chat. No framework, nothing stored on the device: the session
// token lives in this script's memory only, so closing the tab forgets it.
// Without this script the page still works: every button is a plain form post.
(function () {
  "use strict";

  var body = document.body;
  var exitUrl = body.getAttribute("data-exit");
  var lang = body.getAttribute("data-lang");
  var embedded = body.classList.contains("embedded");
  var words = JSON.parse(document.getElementById("words").textContent);
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var options = document.getElementById("options");
  var statusLine = document.getElementById("status");
  var exitForm = document.getElementById("exit-form");

  var token = form.elements.token.value || null;
  var busy = false;
  var pending = null; // a message that did not arrive: sent again with the same id
  var lastShown = 0; // the last waiting message shown (the next poll confirms it)
  var shownIds = {};
  var pollTimer = null;
  var exiting = false;
  var POLL_MS = 8000;
  var SHIFT_PRESSES = 3;
  var SHIFT_WINDOW_MS = 5000;

  function randomId() {
    var data = new Uint8Array(12);
    crypto.getRandomValues(data);
    return Array.prototype.map.call(data, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function setStatus(text, problem) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("problem", Boolean(problem));
  }

  // `html` from the server is already escaped (only <b> for bold); the
  // person's own words are always set as text.
  function addMessage(who, content, dir, msgLang) {
    var item = document.createElement("div");
    item.className = "msg " + who;
    item.setAttribute("dir", dir || "auto");
    if (msgLang) { item.setAttribute("lang", msgLang); }
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = (who === "you" ? words.you : words.bot) + " ";
    var text = document.createElement("span");
    text.className = "body";
    if (who === "you") { text.textContent = content; } else { text.innerHTML = content; }
    item.appendChild(label);
    item.appendChild(text);
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function showOptions(list) {
    options.textContent = "";
    list.forEach(function (option) {
      var button = document.createElement("button");
      button.type = "submit";
      button.name = "choice";
      button.value = option.id;
      button.className = "option";
      button.textContent = option.label;
      options.appendChild(button);
    });
    options.hidden = list.length === 0;
  }

  function forget() {
    token = null;
    pending = null;
    lastShown = 0;
    shownIds = {};
    if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
    log.textContent = "";
    input.value = "";
    form.elements.token.value = "";
    exitForm.elements.token.value = "";
  }

  function post(path, payload, keepalive) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      credentials: "omit",
      cache: "no-store",
      keepalive: Boolean(keepalive)
    });
  }

  function send(payload) {
    if (busy || exiting) { return; }
    busy = true;
    sendButton.disabled = true;
    setStatus(words.sending);
    pending = payload;
    post("/chat/api/messages", payload).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok || response.status === 429, data: data };
      });
    }).then(function (result) {
      if (!result.ok || !result.data.replies) { throw new Error("refused"); }
      pending = null;
      if (result.data.token) { token = result.data.token; }
      setStatus("");
      var last = [];
      var ended = false;
      result.data.replies.forEach(function (reply) {
        if (reply.exit) { ended = true; }
        addMessage("bot", reply.html, reply.dir, reply.lang);
        last = reply.options.length ? reply.options : last;
      });
      if (ended) { // EXIT typed in the chat: everything on the page goes
        forget();
        showOptions([]);
        setStatus(words.ended);
        return;
      }
      showOptions(last);
      schedulePoll();
    }).catch(function () {
      setStatus(words.failed, true);
    }).then(function () {
      busy = false;
      sendButton.disabled = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var submitter = event.submitter;
    var payload;
    if (pending) {
      payload = pending; // the same id: the server answers a repeat only once
    } else {
      payload = { id: randomId(), text: "", lang: lang };
      if (token) { payload.token = token; }
      if (submitter && submitter.name === "choice") {
        payload.choice = submitter.value;
        addMessage("you", submitter.textContent, "auto");
      } else if (submitter && submitter.name === "command") {
        payload.command = submitter.value;
      } else {
        var text = input.value.trim();
        if (!text) { input.focus(); return; }
        payload.text = text;
        addMessage("you", text, "auto");
        input.value = "";
      }
    }
    send(payload);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { // Shift+Enter: a new line
      event.preventDefault();
      form.requestSubmit(sendButton);
    }
  });

  // ----- messages waiting for this page (a worker in a live chat) ---------------
  function schedulePoll() {
    if (pollTimer || !token) { return; }
    pollTimer = setTimeout(poll, POLL_MS);
  }

  function poll() {
    pollTimer = null;
    if (!token || exiting) { return; }
    post("/chat/api/poll", { token: token, after: lastShown }).then(function (response) {
      return response.ok ? response.json() : { messages: [] };
    }).then(function (data) {
      (data.messages || []).forEach(function (message) {
        if (!shownIds[message.id]) {
          shownIds[message.id] = true;
          addMessage("bot", message.html, "auto");
          setStatus(words.new_message);
        }
        lastShown = Math.max(lastShown, message.id);
      });
    }).catch(function () { /* asked again at the next poll */ }).then(schedulePoll);
  }

  // ----- quick exit (GOV.UK's "Exit this page") ------------------------------------
  function quickExit(fromParent) {
    if (exiting) { return; }
    exiting = true;
    if (token) {
      try { post("/chat/api/exit", { token: token }, true).catch(function () {}); } catch (e) { /* gone */ }
    }
    forget();
    try { sessionStorage.clear(); } catch (e) { /* never used; cleared anyway */ }
    body.textContent = "";
    if (embedded && window.parent !== window) {
      // The partner's page (widget.js) leaves for the neutral site; if nothing
      // there listens, the frame tries to replace the whole page itself.
      window.parent.postMessage({ frontdoor: "exit" }, "*");
      if (!fromParent) {
        setTimeout(function () {
          try { window.top.location.replace(exitUrl); } catch (e) { /* refused */ }
        }, 500);
      }
      return;
    }
    window.location.replace(exitUrl);
  }

  exitForm.addEventListener("submit", function (event) {
    event.preventDefault();
    quickExit(false);
  });

  var shiftPresses = [];
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") { shiftPresses = []; return; }
    if (event.repeat) { return; }
    var now = Date.now();
    shiftPresses = shiftPresses.filter(function (at) { return now - at < SHIFT_WINDOW_MS; });
    shiftPresses.push(now);
    if (shiftPresses.length >= SHIFT_PRESSES) { quickExit(false); }
  });

  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && event.data.frontdoor === "exit") {
      quickExit(true);
    }
  });

  // A page shown again from the back-forward cache holds nothing.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { forget(); }
  });
})();

/*
 * The clinic's chat widget. Served by the Rasa server as /widget/widget.js, with the socket.io
 * client before it (rasa_plugins/channels/widget.py); `io` is that client.
 *
 * Embed: <script src="https://ASSISTANT/widget/widget.js" async></script>
 *   data-position="left"   launcher on the left (default: right)
 *   data-server="https://…" the assistant's address (default: where widget.js came from)
 *
 * Rules it keeps: every message is text (textContent), never HTML; links only http(s), tel:,
 * mailto:; no inline script or style, no eval (works under a strict CSP); the conversation, its
 * history and the messages not yet answered are kept in localStorage, per session id.
 */
(function (io) {
  "use strict";

  var script = document.currentScript || document.querySelector('script[src*="/widget/widget.js"]');
  if (!script || !window.crypto || !window.crypto.getRandomValues) return;
  var base = (script.getAttribute("data-server") || script.src.replace(/\/widget\/widget\.js(?:[?#].*)?$/, ""))
    .replace(/\/+$/, "");
  var position = script.getAttribute("data-position") === "left" ? "left" : "right";
  var LINK_PROTOCOLS = ["http:", "https:", "tel:", "mailto:"];
  // Web addresses, e-mail addresses and international phone numbers in a message become links.
  var LINKABLE = /(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)'"])|(mailto:[^\s<>"]+)|([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})|(\+\d[\d ()-]{6,}\d)/g;

  // --- storage: per assistant and session; still works (unsaved) where storage is off ---------
  var memory = {};
  var PREFIX = "bpw:" + base + ":";
  function load(key, fallback) {
    try {
      var value = window.localStorage.getItem(PREFIX + key);
      if (value !== null) return JSON.parse(value);
    } catch (e) {
      /* storage off or the value unreadable: fall back to memory */
    }
    return key in memory ? memory[key] : fallback;
  }
  function save(key, value) {
    memory[key] = value;
    try {
      window.localStorage.setItem(PREFIX + key, JSON.stringify(value));
    } catch (e) {
      /* full or off: kept in memory for this page */
    }
  }
  function forget(key) {
    delete memory[key];
    try {
      window.localStorage.removeItem(PREFIX + key);
    } catch (e) {
      /* nothing stored */
    }
  }

  // 128 random bits from the browser's cryptographic generator, as 32 hex digits.
  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (byte) { return (byte + 256).toString(16).slice(1); }).join("");
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) { return name in values ? values[name] : whole; });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeHref(address) {
    try {
      var url = new URL(address);
      return LINK_PROTOCOLS.indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(href, text, className) {
    var anchor = element("a", className, text);
    anchor.href = href;
    if (/^https?:/.test(href)) {
      anchor.target = "_blank";
      anchor.rel = "noopener noreferrer";
    }
    return anchor;
  }

  // A message's text as text nodes and safe links: never parsed as HTML.
  function richText(container, text) {
    var last = 0;
    text.replace(LINKABLE, function (match, web, mailto, email, phone, offset) {
      var href = safeHref(
        web || mailto || (email ? "mailto:" + email : "tel:" + phone.replace(/[^\d+]/g, ""))
      );
      container.appendChild(document.createTextNode(text.slice(last, offset)));
      container.appendChild(href ? link(href, match) : document.createTextNode(match));
      last = offset + match.length;
      return match;
    });
    container.appendChild(document.createTextNode(text.slice(last)));
    return container;
  }

  function start(config) {
    var texts = config.texts;
    var clinic = config.clinic;
    var words = { clinic: clinic.name, phone: clinic.phone, emergency: clinic.emergency_number };
    function say(name) { return fill(texts[name], words); }

    var sessionId = load("session", null);
    if (!/^[0-9a-f]{32}$/.test(sessionId || "")) {
      sessionId = randomId();
      save("session", sessionId);
    }
    var history = load("history:" + sessionId, []);
    var outbox = load("outbox:" + sessionId, []);
    var received = {};
    var sending = null; // the message sent and not yet answered in full
    var deletedBy = null; // the message whose reply confirmed "delete my data"
    var connected = false;

    // --- the parts of the widget --------------------------------------------------------------
    var host = element("div");
    host.setAttribute("data-clinic-chat", "");
    var shadow = host.attachShadow({ mode: "open" });
    var stylesheet = element("link");
    stylesheet.rel = "stylesheet";
    stylesheet.href = base + "/widget/widget.css";

    var root = element("aside", "bpw bpw--" + position);
    root.setAttribute("aria-label", say("panel_label"));
    root.style.setProperty("--bpw-accent", clinic.colour);

    var launcher = element("button", "bpw-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "bpw-panel");
    launcher.appendChild(element("span", "bpw-launcher__icon")).setAttribute("aria-hidden", "true");
    var launcherText = launcher.appendChild(element("span", "", say("launcher")));

    var panel = element("section", "bpw-panel");
    panel.id = "bpw-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "bpw-title");

    var header = panel.appendChild(element("header", "bpw-header"));
    var titles = header.appendChild(element("div", "bpw-header__titles"));
    titles.appendChild(element("h2", "bpw-title", clinic.name)).id = "bpw-title";
    titles.appendChild(element("p", "bpw-subtitle", say("subtitle")));
    var restart = header.appendChild(element("button", "bpw-header__button", say("start_over")));
    restart.type = "button";
    var deleteData = header.appendChild(element("button", "bpw-header__button", say("delete_data")));
    deleteData.type = "button";
    var close = header.appendChild(element("button", "bpw-header__button bpw-close"));
    close.type = "button";
    close.setAttribute("aria-label", say("close"));
    close.appendChild(element("span", "", "×")).setAttribute("aria-hidden", "true");

    panel.appendChild(element("p", "bpw-disclaimer", say("disclaimer")));
    var status = panel.appendChild(element("p", "bpw-status"));
    status.setAttribute("role", "status"); // always there (empty when all is well), so changes are announced
    var log = panel.appendChild(element("div", "bpw-log"));
    log.setAttribute("role", "log");
    log.setAttribute("aria-label", say("conversation"));
    log.tabIndex = 0; // scrollable by keyboard
    var typing = panel.appendChild(element("p", "bpw-typing"));
    typing.hidden = true;
    typing.appendChild(element("span", "bpw-typing__dots")).setAttribute("aria-hidden", "true");
    typing.appendChild(element("span", "", say("typing")));

    var form = panel.appendChild(element("form", "bpw-composer"));
    var label = form.appendChild(element("label", "bpw-visually-hidden", say("input_label")));
    label.htmlFor = "bpw-input";
    var input = form.appendChild(element("input", "bpw-input"));
    input.id = "bpw-input";
    input.type = "text";
    input.autocomplete = "off";
    input.maxLength = 2000;
    input.placeholder = say("input_placeholder");
    input.setAttribute("enterkeyhint", "send");
    var send = form.appendChild(element("button", "bpw-send", say("send")));
    send.type = "submit";

    root.appendChild(panel);
    root.appendChild(launcher);

    // --- rendering ----------------------------------------------------------------------------
    function bubble(who, className) {
      var item = element("div", "bpw-message bpw-message--" + who + (className ? " " + className : ""));
      item.appendChild(element("span", "bpw-visually-hidden", say(who === "user" ? "you" : "assistant") + ": "));
      log.appendChild(item);
      return item;
    }

    function scrollDown() {
      log.scrollTop = log.scrollHeight;
    }

    function renderUser(entry) {
      // Buttons offered before this message have been answered.
      Array.prototype.forEach.call(log.querySelectorAll(".bpw-choices button"), function (button) {
        button.disabled = true;
      });
      if (entry.chose) {
        var chosen = log.querySelector('[data-choice="' + entry.chose + '"]');
        if (chosen) {
          chosen.classList.add("bpw-choice--chosen");
          chosen.appendChild(element("span", "bpw-visually-hidden", " (" + say("chosen") + ")"));
        }
      }
      var item = bubble("user");
      item.setAttribute("data-id", entry.id);
      item.appendChild(element("span", "bpw-text", entry.text));
      item.appendChild(element("span", "bpw-note", say("sending")));
    }

    function renderChoices(entry, choices) {
      var group = element("div", "bpw-choices");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", say("choices"));
      choices.forEach(function (choice, index) {
        var button = group.appendChild(element("button", "bpw-choice", choice.title));
        button.type = "button";
        button.setAttribute("data-choice", entry.key + "/" + index);
        button.addEventListener("click", function () {
          tell(choice.payload, choice.title, entry.key + "/" + index);
          input.focus();
        });
      });
      log.appendChild(group);
    }

    function renderAlert(entry, flag) {
      var urgent = flag.level === "urgent";
      Array.prototype.forEach.call(log.querySelectorAll('[data-reply="' + entry.body.reply_to + '"]'), function (item) {
        item.classList.add("bpw-message--alert");
      });
      var alert = element("div", "bpw-alert" + (urgent ? " bpw-alert--urgent" : ""));
      alert.setAttribute("role", "alert");
      alert.appendChild(element("p", "bpw-alert__title", say(urgent ? "urgent_title" : "emergency_title")));
      var actions = alert.appendChild(element("p", "bpw-alert__actions"));
      actions.appendChild(link(clinic.emergency_link, say("call_emergency"), "bpw-call"));
      if (urgent) actions.appendChild(link(clinic.phone_link, say("call_clinic"), "bpw-call bpw-call--clinic"));
      log.appendChild(alert);
    }

    function renderReference(kind, request) {
      var card = element("div", "bpw-reference");
      card.appendChild(element("span", "bpw-reference__label", say(kind + "_reference") + ": "));
      card.appendChild(element("strong", "bpw-reference__code", request.reference));
      if (request.status) card.appendChild(element("span", "bpw-reference__status", fill(texts.status, request)));
      log.appendChild(card);
    }

    function renderBot(entry) {
      var body = entry.body;
      if (typeof body.text === "string" && body.text) {
        var item = bubble("bot");
        if (body.reply_to) item.setAttribute("data-reply", body.reply_to);
        richText(item.appendChild(element("span", "bpw-text")), body.text);
      }
      var choices = body.quick_replies || body.buttons;
      if (choices && choices.length) renderChoices(entry, choices);
      if (body.red_flag) renderAlert(entry, body.red_flag);
      if (body.booking && body.booking.reference) renderReference("booking", body.booking);
      if (body.referral && body.referral.reference) renderReference("referral", body.referral);
    }

    function render(entry) {
      if (entry.who === "user") renderUser(entry);
      else renderBot(entry);
    }

    function renderAll() {
      log.textContent = "";
      received = {};
      renderBot({ key: "greeting", body: { text: clinic.greeting } });
      history.forEach(function (entry) {
        if (entry.key) received[entry.key] = true;
        render(entry);
      });
      refresh();
    }

    // Said when the assistant has sent nothing for a while in the middle of a reply (a slow or
    // stuck helper server): the person knows their message arrived.
    var SLOW_AFTER_MS = 15000;
    var slowTimer = null;
    function watchForSlowness() {
      window.clearTimeout(slowTimer);
      if (status.textContent === say("slow")) setStatus("");
      if (connected && sending) slowTimer = window.setTimeout(function () { setStatus(say("slow")); }, SLOW_AFTER_MS);
    }

    // What is waiting: the "not sent yet" notes while offline, the typing indicator while the
    // assistant answers.
    function refresh() {
      var waiting = {};
      outbox.forEach(function (message) { waiting[message.id] = true; });
      Array.prototype.forEach.call(log.querySelectorAll(".bpw-message--user"), function (item) {
        item.classList.toggle("bpw-message--pending", !connected && waiting[item.getAttribute("data-id")] === true);
      });
      typing.hidden = !(connected && sending);
      watchForSlowness();
      scrollDown();
    }

    function setStatus(text) {
      status.textContent = text;
    }

    // --- the conversation ---------------------------------------------------------------------
    function remember() {
      save("history:" + sessionId, history);
      save("outbox:" + sessionId, outbox);
    }

    function tell(text, shown, chose) {
      var entry = { who: "user", id: randomId(), text: shown || text };
      if (chose) entry.chose = chose;
      history.push(entry);
      outbox.push({ id: entry.id, text: text });
      remember();
      render(entry);
      pump();
      refresh();
    }

    // One message at a time: the next waits until every part of the reply has arrived.
    function pump() {
      if (!connected || sending || !outbox.length) return;
      sending = outbox[0];
      var message = { message: sending.text, session_id: sessionId, message_id: sending.id };
      if (sending.tried) message.resend = true; // the assistant may have it already: it checks
      sending.tried = true;
      remember();
      socket.emit("user_uttered", message);
      refresh();
    }

    var socket = io(new URL(base).origin, {
      path: new URL(base).pathname.replace(/\/$/, "") + "/socket.io/",
      reconnectionDelayMax: 4000,
      // A WebSocket first: one connection, so it works with several Rasa processes behind one
      // port; long-polling (its requests need a sticky balancer) only where it fails.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
    });
    var wasOnline = false;
    var lostConnection = false; // so a new conversation's confirmation keeps what the status says
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: sessionId });
    });
    socket.on("session_confirm", function (confirmed) {
      if (confirmed !== sessionId) return; // the answer to a request before "Start over"
      connected = true;
      if (lostConnection || !wasOnline) setStatus(lostConnection ? say("online") : "");
      wasOnline = true;
      lostConnection = false;
      pump();
      refresh();
    });
    socket.on("disconnect", function () {
      connected = false;
      lostConnection = true;
      sending = null; // sent again on reconnection; the assistant answers a message only once
      setStatus(say("offline"));
      refresh();
    });
    socket.on("connect_error", function (error) {
      if (!socket.active) setStatus(say(/website/.test(error.message) ? "refused" : "unavailable"));
      else if (wasOnline) setStatus(say("offline"));
    });
    socket.on("bot_uttered", function (body) {
      if (!body || typeof body !== "object") return;
      var key = body.reply_to ? body.reply_to + ":" + body.part : "push:" + randomId();
      if (received[key]) return; // sent again after a reconnection: already shown
      received[key] = true;
      var entry = { who: "bot", key: key, body: body };
      if (body.data_deleted === true) deletedBy = body.reply_to;
      history.push(entry);
      remember();
      render(entry);
      refresh();
    });
    socket.on("turn_done", function (done) {
      if (!sending || !done || done.reply_to !== sending.id) return;
      outbox.shift();
      sending = null;
      remember();
      if (deletedBy === done.reply_to) forgetDeletedConversation(done.reply_to);
      pump();
      refresh();
    });

    // The assistant deleted the conversation: so does this browser. A new conversation starts,
    // showing (not storing) the reply that says what was deleted and what was kept.
    function forgetDeletedConversation(replyTo) {
      var reply = history.filter(function (entry) { return entry.who === "bot" && entry.body.reply_to === replyTo; });
      deletedBy = null;
      newConversation();
      reply.forEach(function (entry) { if (entry.body.text) renderBot({ key: entry.key, body: { text: entry.body.text } }); });
      setStatus(say("data_deleted"));
    }

    // --- opening, closing, typing -------------------------------------------------------------
    var small = window.matchMedia("(max-width: 480px), (max-height: 480px)");
    // On phones the panel fills the visible part of the screen, so the input stays above the
    // on-screen keyboard (which shrinks the visual viewport, not the layout viewport).
    function fitViewport() {
      var viewport = window.visualViewport;
      if (!viewport || !small.matches) {
        root.style.removeProperty("--bpw-viewport-height");
        root.style.removeProperty("--bpw-viewport-top");
        return;
      }
      root.style.setProperty("--bpw-viewport-height", viewport.height + "px");
      root.style.setProperty("--bpw-viewport-top", viewport.offsetTop + "px");
      scrollDown();
    }
    if (window.visualViewport) {
      window.visualViewport.addEventListener("resize", fitViewport);
      window.visualViewport.addEventListener("scroll", fitViewport);
    }

    function setOpen(open, moveFocus) {
      panel.hidden = !open;
      root.classList.toggle("bpw--open", open);
      launcher.setAttribute("aria-expanded", String(open));
      launcherText.textContent = say(open ? "launcher_close" : "launcher");
      panel.setAttribute("aria-modal", String(open && small.matches));
      save("open", open);
      if (open) {
        fitViewport();
        scrollDown();
      }
      if (moveFocus) (open ? input : launcher).focus();
    }

    launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
    close.addEventListener("click", function () { setOpen(false, true); });
    // Full screen, the panel is modal: Tab stays inside it, never on the page hidden behind.
    function keepFocusInside(event) {
      var focusable = Array.prototype.filter.call(
        panel.querySelectorAll("button, input, a[href], [tabindex='0']"),
        function (node) { return !node.disabled && node.getClientRects().length > 0; }
      );
      var first = focusable[0];
      var last = focusable[focusable.length - 1];
      if (event.shiftKey && shadow.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && shadow.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
    root.addEventListener("keydown", function (event) {
      if (panel.hidden) return;
      if (event.key === "Escape") {
        event.stopPropagation();
        setOpen(false, true);
      } else if (event.key === "Tab" && small.matches) {
        keepFocusInside(event);
      }
    });
    function newConversation() {
      forget("history:" + sessionId);
      forget("outbox:" + sessionId);
      sessionId = randomId();
      save("session", sessionId);
      history = [];
      outbox = [];
      sending = null;
      connected = false;
      renderAll();
      if (socket.connected) socket.emit("session_request", { session_id: sessionId });
    }
    restart.addEventListener("click", function () {
      newConversation();
      setStatus(say("start_over_done"));
      input.focus();
    });
    // Asks the assistant, which asks for confirmation before deleting anything.
    deleteData.addEventListener("click", function () {
      tell("/delete_my_data", say("delete_data"));
      input.focus();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      tell(text);
    });

    renderAll();
    stylesheet.addEventListener("load", function () {
      shadow.appendChild(root);
      setOpen(load("open", false), false);
    });
    shadow.appendChild(stylesheet);
    document.body.appendChild(host);
  }

  fetch(base + "/widget/config.json", { credentials: "omit" })
    .then(function (answer) {
      if (!answer.ok) throw new Error("config.json: HTTP " + answer.status);
      return answer.json();
    })
    .then(function (config) {
      if (document.body) start(config);
      else document.addEventListener("DOMContentLoaded", function () { start(config); });
    })
    .catch(function (error) {
      if (window.console) window.console.error("Clinic chat widget:", error);
    });
})(io);

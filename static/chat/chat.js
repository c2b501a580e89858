/*
 * Catalyst chat page: conversations over REST, answers streamed over one WebSocket.
 *
 * Every `message` frame becomes a "turn" that stays in the outbox (state.turns) until its answer
 * ends with `done`, `cancelled` or `error`, so a dropped connection can re-send or resume it.
 */
(function () {
  'use strict';

  const RENDER_INTERVAL_MS = 50;
  const SEARCH_DEBOUNCE_MS = 250;
  const DELETE_CONFIRM_MS = 3000;
  const DELETE_ICON = '×';
  const BACKOFF_SECONDS = [1, 2, 4, 8, 16, 30];
  const TOKEN_SAFETY_MARGIN_SECONDS = 30;
  const CLOSE_TOKEN_REJECTED = 4401;
  const CLOSE_FORBIDDEN = 4403;
  const MODEL_STORAGE_KEY = 'catalyst.chat.model';
  const AUTO_MODEL = 'auto';
  const NARROW = window.matchMedia('(max-width: 720px)'); // as in chat.css: the sidebar is a drawer
  const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const PURIFY_OPTIONS = {
    FORBID_TAGS: ['img', 'style', 'iframe', 'form', 'input', 'svg', 'math'],
    FORBID_ATTR: ['style'],
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  };

  const root = document.getElementById('chat');
  const config = root.dataset; // tokenUrl, wsPath, apiBase, tenant, csrfToken
  // Per tenant: each tenant has its own conversations.
  const CONVERSATION_STORAGE_KEY = `catalyst.chat.conversation.${config.tenant}`;
  const el = {
    sidebar: document.getElementById('sidebar'),
    sidebarToggle: document.getElementById('sidebar-toggle'),
    pane: root.querySelector('.pane'),
    emptyState: document.getElementById('empty-state'),
    messages: document.getElementById('messages'),
    composer: document.getElementById('composer'),
    prompt: document.getElementById('prompt'),
    send: document.getElementById('send'),
    stop: document.getElementById('stop'),
    regenerate: document.getElementById('regenerate'),
    model: document.getElementById('model'),
    status: document.getElementById('status'),
    notice: document.getElementById('notice'),
    conversations: document.getElementById('conversations'),
    search: document.getElementById('search'),
    newConversation: document.getElementById('new-conversation'),
    tenant: document.getElementById('tenant'),
  };
  const state = {
    token: null,
    tokenRequest: null,
    socket: null,
    ready: false,
    countdownTimer: null,
    reconnectAttempt: 0,
    tokenRetried: false,
    conversations: [],
    conversationId: null,
    turns: new Map(),
  };

  const markdown = new marked.Marked({
    renderer: {
      // Model output is untrusted: raw HTML is shown as text and images never load.
      html: ({ text, block }) => (block ? `<p>${escapeHtml(text)}</p>` : escapeHtml(text)),
      image: ({ text }) => escapeHtml(text),
    },
  });

  // --- Small helpers -----------------------------------------------------------------------------

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]);
  }

  function sameId(a, b) {
    return a !== null && b !== null && String(a) === String(b);
  }

  function debounce(action, waitMs) {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(action, waitMs);
    };
  }

  function showNotice(message) {
    el.notice.textContent = message;
    el.notice.hidden = false;
  }

  function report(error) {
    showNotice(error.message);
  }

  function setStatus(kind, text = kind) {
    el.status.className = `status ${kind}`;
    el.status.textContent = text;
  }

  // --- Authentication and REST -------------------------------------------------------------------

  function goToLogin() {
    // Keep "/" readable in `next`, as Django's redirect_to_login does.
    const next = encodeURIComponent(location.pathname + location.search).replace(/%2F/g, '/');
    location.assign(`/accounts/login/?next=${next}`);
    // The page is going away: a promise that never settles stops every caller where it stands.
    return new Promise(() => {});
  }

  async function fetchToken() {
    const response = await fetch(config.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': config.csrfToken },
      body: JSON.stringify({ tenant: config.tenant }),
    });
    if (response.status === 401 || response.status === 403) return goToLogin();
    if (!response.ok) throw new Error(`Could not get a chat token (HTTP ${response.status}).`);
    const body = await response.json();
    const lifetimeSeconds = body.expires_in - TOKEN_SAFETY_MARGIN_SECONDS;
    state.token = { value: body.token, expiresAt: Date.now() + lifetimeSeconds * 1000 };
    return body.token;
  }

  /** A token for REST (reused while valid) or for a (re)connect (always fresh). */
  function getToken({ fresh }) {
    if (!fresh && state.token && Date.now() < state.token.expiresAt) {
      return Promise.resolve(state.token.value);
    }
    if (!state.tokenRequest) {
      state.tokenRequest = fetchToken().finally(() => {
        state.tokenRequest = null;
      });
    }
    return state.tokenRequest;
  }

  function apiRequest(path, method, body, token) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body) headers['Content-Type'] = 'application/json';
    return fetch(config.apiBase + path, { method, headers, body: body && JSON.stringify(body) });
  }

  async function errorMessage(response) {
    try {
      return (await response.json()).error.message;
    } catch {
      return `Request failed (HTTP ${response.status}).`;
    }
  }

  async function api(path, { method = 'GET', body } = {}) {
    let response = await apiRequest(path, method, body, await getToken({ fresh: false }));
    if (response.status === 401) {
      response = await apiRequest(path, method, body, await getToken({ fresh: true }));
    }
    if (!response.ok) {
      const error = new Error(await errorMessage(response));
      error.status = response.status;
      throw error;
    }
    return response.status === 204 ? null : response.json();
  }

  // --- Models ------------------------------------------------------------------------------------

  function modelOption(value, text, description) {
    const option = new Option(text, value);
    option.title = description;
    return option;
  }

  function optionGroup(label, options) {
    const group = document.createElement('optgroup');
    group.label = label;
    group.append(...options);
    return group;
  }

  /** `auto` first, then the fallback chains, then the chat models; embedding models are no use here. */
  async function loadModels() {
    const body = await api('/models');
    const chains = body.data
      .filter((item) => item.type === 'chain')
      .map((chain) => modelOption(chain.id, `${chain.id} (chain)`, `Fallback chain: ${chain.fallbacks.join(' → ')}`));
    const models = body.data
      .filter((item) => item.type === 'chat')
      .map((model) => modelOption(model.id, model.id, `Model served by ${model.owned_by}`));
    const auto = modelOption(AUTO_MODEL, AUTO_MODEL, 'Catalyst picks the cheapest model that can handle the message');
    const groups = [];
    if (chains.length) groups.push(optionGroup('Fallback chains', chains));
    if (models.length) groups.push(optionGroup('Models', models));
    el.model.replaceChildren(auto, ...groups);
    const saved = localStorage.getItem(MODEL_STORAGE_KEY);
    const offered = [auto, ...chains, ...models].some((option) => option.value === saved);
    el.model.value = offered ? saved : AUTO_MODEL;
    describeModel();
  }

  function describeModel() {
    const option = el.model.selectedOptions[0];
    el.model.title = option ? option.title : '';
  }

  function onModelChange() {
    localStorage.setItem(MODEL_STORAGE_KEY, el.model.value);
    describeModel();
  }

  // --- Conversation list -------------------------------------------------------------------------

  async function loadConversations() {
    const query = el.search.value.trim();
    const body = await api(query ? `/conversations?q=${encodeURIComponent(query)}` : '/conversations');
    if (query !== el.search.value.trim()) return; // a newer search is on its way
    state.conversations = body.data;
    renderConversationList();
  }

  function listButton(className, text, label) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    button.textContent = text;
    button.title = label;
    return button;
  }

  function conversationItem(conversation) {
    const item = document.createElement('li');
    const selected = sameId(conversation.id, state.conversationId);
    item.className = selected ? 'conversation selected' : 'conversation';
    item.dataset.id = conversation.id;
    const title = conversation.title || 'Untitled';
    const open = listButton('open', title, title);
    if (selected) open.setAttribute('aria-current', 'true');
    item.append(open, listButton('rename', '✎', 'Rename'), listButton('delete', DELETE_ICON, 'Delete'));
    return item;
  }

  function renderConversationList() {
    el.conversations.replaceChildren(...state.conversations.map(conversationItem));
  }

  function rememberConversation(id, title) {
    const known = state.conversations.find((conversation) => sameId(conversation.id, id));
    if (known) {
      known.title = title || known.title;
    } else {
      state.conversations.unshift({ id, title });
    }
    renderConversationList();
  }

  function onConversationClick(event) {
    const button = event.target.closest('button');
    if (!button) return;
    const item = button.closest('li');
    const conversation = state.conversations.find((candidate) => sameId(candidate.id, item.dataset.id));
    if (button.classList.contains('open')) {
      setSidebarOpen(false);
      openConversation(conversation.id).catch(report);
    }
    if (button.classList.contains('rename')) startRename(item, conversation);
    if (button.classList.contains('delete')) confirmThenDelete(button, conversation);
  }

  function startRename(item, conversation) {
    const input = document.createElement('input');
    input.className = 'rename-input';
    input.value = conversation.title || '';
    input.setAttribute('aria-label', 'Conversation title');
    item.replaceChildren(input);
    input.focus();
    input.select();

    let finished = false;
    const finish = (save) => {
      if (finished) return;
      finished = true;
      const title = input.value.trim();
      if (save && title && title !== conversation.title) {
        renameConversation(conversation, title).catch(report).finally(renderConversationList);
      } else {
        renderConversationList();
      }
    };
    input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== 'Escape') return;
      event.preventDefault(); // the page's Escape shortcut must not stop an answer as well
      finish(event.key === 'Enter');
    });
    input.addEventListener('blur', () => finish(true));
  }

  async function renameConversation(conversation, title) {
    const updated = await api(`/conversations/${conversation.id}`, { method: 'PATCH', body: { title } });
    Object.assign(conversation, updated);
  }

  function confirmThenDelete(button, conversation) {
    if (button.classList.contains('confirm')) {
      deleteConversation(conversation).catch(report);
      return;
    }
    button.classList.add('confirm');
    button.textContent = 'Delete?';
    setTimeout(() => {
      button.classList.remove('confirm');
      button.textContent = DELETE_ICON;
    }, DELETE_CONFIRM_MS);
  }

  async function deleteConversation(conversation) {
    await api(`/conversations/${conversation.id}`, { method: 'DELETE' });
    state.conversations = state.conversations.filter((candidate) => candidate !== conversation);
    if (sameId(conversation.id, state.conversationId)) {
      clearConversation();
      if (!drawerIsOpen()) el.prompt.focus();
    }
    renderConversationList();
  }

  // --- Message bubbles ---------------------------------------------------------------------------

  function messageElement(role, id) {
    const element = document.createElement('article');
    element.className = `message ${role}`;
    element.dataset.id = id;
    const content = document.createElement('div');
    content.className = 'content';
    element.append(content);
    return element;
  }

  function contentOf(bubble) {
    return bubble.querySelector('.content');
  }

  function createUserBubble(id, text) {
    const bubble = messageElement('user', id);
    contentOf(bubble).textContent = text;
    return bubble;
  }

  function hardenLink(link) {
    link.rel = 'noopener noreferrer nofollow';
    link.target = '_blank';
  }

  /** A wide table scrolls within its answer rather than widening the page. */
  function scrollInside(table) {
    const wrapper = document.createElement('div');
    wrapper.className = 'table-scroll';
    table.replaceWith(wrapper);
    wrapper.append(table);
  }

  function renderMarkdown(target, text, { highlight }) {
    const fragment = DOMPurify.sanitize(markdown.parse(text), PURIFY_OPTIONS);
    fragment.querySelectorAll('a').forEach(hardenLink);
    if (highlight) fragment.querySelectorAll('pre code').forEach((block) => hljs.highlightElement(block));
    fragment.querySelectorAll('table').forEach(scrollInside);
    target.replaceChildren(fragment);
  }

  /** The usage line under a finished answer, e.g. "12 in · 20 out · $0.000052 · gpt-mock". */
  function metaLine({ tokens_in, tokens_out, cost_usd, model, cached }) {
    const meta = document.createElement('div');
    meta.className = 'meta';
    const parts = [`${tokens_in} in`, `${tokens_out} out`, `$${cost_usd}`, model];
    if (cached === 'HIT' || cached === 'SEMANTIC' || cached === 'STALE') parts.push(`cached (${cached.toLowerCase()})`);
    meta.textContent = parts.join(' · ');
    return meta;
  }

  function errorLine({ message, retry_after }) {
    const error = document.createElement('p');
    error.className = 'error';
    error.textContent = retry_after ? `${message} Try again in ${retry_after} s.` : message;
    return error;
  }

  function historyBubble(message) {
    const id = message.client_id || message.id;
    const turn = state.turns.get(id);
    const live = turn && (message.role === 'user' ? turn.userBubble : turn.answerBubble);
    if (live) return live;
    if (message.role === 'user') return createUserBubble(id, message.content);

    const bubble = messageElement('assistant', id);
    renderMarkdown(contentOf(bubble), message.content, { highlight: true });
    if (message.status === 'complete') {
      bubble.append(metaLine(message));
    } else if (message.status === 'streaming') {
      followStreamingAnswer(id, message.content, bubble);
    } else {
      bubble.classList.add(message.status);
    }
    return bubble;
  }

  /** An answer still being written (say the page was reloaded meanwhile): stream the rest here. */
  function followStreamingAnswer(id, text, bubble) {
    const turn = createTurn({ id, conversationId: state.conversationId, answerBubble: bubble });
    turn.heard = true; // the server has the message: only ever resume it
    turn.text = text;
    turn.chars = Array.from(text).length;
    sendFrame({ type: 'resume', id, offset: turn.chars });
  }

  function isNearBottom() {
    const view = el.messages;
    return view.scrollHeight - view.scrollTop - view.clientHeight < 48;
  }

  function scrollToBottom() {
    el.messages.scrollTop = el.messages.scrollHeight;
  }

  function keepingScroll(update) {
    const stick = isNearBottom();
    update();
    if (stick) scrollToBottom();
  }

  // --- Turns: the outbox of answers still on their way -------------------------------------------

  function createTurn({ id, conversationId, frame = null, userBubble = null, answerBubble = null }) {
    const turn = {
      id,
      frame, // the `message` frame to re-send until the server has said anything about it
      userBubble,
      answerBubble: answerBubble || messageElement('assistant', id),
      conversationId,
      heard: false, // any frame about this answer received yet?
      text: '',
      chars: 0, // length of `text` in code points, the unit of the server's offsets
      cancelRequested: false,
      finished: false,
      renderQueued: false,
      renderedAt: 0,
    };
    turn.answerBubble.classList.add('streaming');
    state.turns.set(turn.id, turn);
    return turn;
  }

  /** The turn whose answer is on screen, if any: there is at most one per conversation. */
  function currentTurn() {
    for (const turn of state.turns.values()) {
      if (turn.answerBubble.isConnected) return turn;
    }
    return null;
  }

  function startTurn(frame, userBubble = null) {
    const turn = createTurn({ id: frame.id, conversationId: frame.conversation_id, frame, userBubble });
    if (userBubble) el.messages.append(userBubble);
    el.messages.append(turn.answerBubble);
    scrollToBottom();
    sendFrame(frame);
    updateControls();
  }

  function scheduleRender(turn) {
    if (turn.renderQueued) return;
    turn.renderQueued = true;
    const waitMs = Math.max(0, turn.renderedAt + RENDER_INTERVAL_MS - performance.now());
    setTimeout(() => requestAnimationFrame(() => renderStreamingAnswer(turn)), waitMs);
  }

  function renderStreamingAnswer(turn) {
    turn.renderQueued = false;
    if (turn.finished) return;
    turn.renderedAt = performance.now();
    keepingScroll(() => renderMarkdown(contentOf(turn.answerBubble), turn.text, { highlight: false }));
  }

  /** Final render of an answer, with its usage or error line underneath when there is one. */
  function finishTurn(turn, status, footer = null) {
    state.turns.delete(turn.id);
    turn.finished = true;
    const bubble = turn.answerBubble;
    bubble.classList.remove('streaming');
    if (status) bubble.classList.add(status);
    keepingScroll(() => {
      renderMarkdown(contentOf(bubble), turn.text, { highlight: true });
      if (footer) bubble.append(footer);
    });
    updateControls();
  }

  // --- Conversations and the composer ------------------------------------------------------------

  function liveBubblesNotShown(conversationId) {
    const bubbles = [];
    for (const turn of state.turns.values()) {
      if (!sameId(turn.conversationId, conversationId)) continue;
      if (turn.userBubble && !turn.userBubble.isConnected) bubbles.push(turn.userBubble);
      if (!turn.answerBubble.isConnected) bubbles.push(turn.answerBubble);
    }
    return bubbles;
  }

  /** The conversation on screen, remembered so a reload reopens it. */
  function selectConversation(id) {
    state.conversationId = id;
    if (id === null) {
      localStorage.removeItem(CONVERSATION_STORAGE_KEY);
    } else {
      localStorage.setItem(CONVERSATION_STORAGE_KEY, String(id));
    }
  }

  async function openConversation(id) {
    selectConversation(id);
    renderConversationList();
    el.messages.replaceChildren();
    updateControls();
    const body = await api(`/conversations/${id}/messages`);
    if (!sameId(state.conversationId, id)) return; // another conversation was opened meanwhile
    el.messages.replaceChildren(...body.data.map(historyBubble));
    el.messages.append(...liveBubblesNotShown(id));
    scrollToBottom();
    updateControls();
  }

  /** After a reload: the conversation last on screen, unless it has been deleted meanwhile. */
  async function reopenLastConversation() {
    const stored = localStorage.getItem(CONVERSATION_STORAGE_KEY);
    if (!/^[0-9]+$/.test(stored || '')) return;
    const id = Number(stored); // as the API sends ids, and as `message` frames carry them
    state.conversationId = id; // set at once, so the empty state never flashes while it loads
    try {
      await api(`/conversations/${id}`);
    } catch (error) {
      if (!sameId(state.conversationId, id)) return;
      if (error.status !== 404) throw error;
      clearConversation(); // gone: start afresh, nothing to tell the user
      return;
    }
    if (sameId(state.conversationId, id)) await openConversation(id);
  }

  function clearConversation() {
    selectConversation(null);
    el.messages.replaceChildren();
    renderConversationList();
    updateControls();
  }

  function startNewConversation() {
    clearConversation();
    focusPrompt();
  }

  function messageFrame(content) {
    return {
      type: 'message',
      id: crypto.randomUUID(),
      content,
      conversation_id: state.conversationId,
      model: el.model.value,
    };
  }

  function sendPrompt() {
    const content = el.prompt.value.trim();
    if (!content || currentTurn()) return;
    const frame = messageFrame(content);
    el.prompt.value = '';
    startTurn(frame, createUserBubble(frame.id, content));
  }

  function lastAnswerBubble() {
    const last = el.messages.lastElementChild;
    return last && last.classList.contains('assistant') ? last : null;
  }

  function canRegenerate() {
    return state.conversationId !== null && !currentTurn() && lastAnswerBubble() !== null;
  }

  function regenerate() {
    if (!canRegenerate()) return;
    lastAnswerBubble().remove(); // the server drops that answer too
    startTurn({ ...messageFrame(''), regenerate: true });
  }

  function stop() {
    const turn = currentTurn();
    if (!turn) return;
    turn.cancelRequested = true; // sent again after a reconnect until the server confirms
    sendFrame({ type: 'cancel', id: turn.id });
  }

  function updateControls() {
    const streaming = currentTurn() !== null;
    el.stop.hidden = !streaming;
    el.send.disabled = streaming;
    el.regenerate.hidden = !canRegenerate();
    el.emptyState.hidden = state.conversationId !== null || el.messages.childElementCount > 0;
  }

  function onPromptKeydown(event) {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    sendPrompt();
  }

  // --- Sidebar drawer and shortcuts --------------------------------------------------------------

  function drawerIsOpen() {
    return root.classList.contains('sidebar-open');
  }

  /** On narrow screens the sidebar is a drawer over the pane; the pane is inert while it is open. */
  function setSidebarOpen(open) {
    const drawer = open && NARROW.matches;
    const hadFocus = el.sidebar.contains(document.activeElement);
    root.classList.toggle('sidebar-open', drawer);
    el.sidebarToggle.setAttribute('aria-expanded', String(drawer));
    el.pane.inert = drawer;
    if (drawer) el.newConversation.focus();
    if (!drawer && hadFocus && NARROW.matches) el.sidebarToggle.focus();
  }

  function onDocumentClick(event) {
    // A click outside the open drawer (on the veil over the pane) closes it.
    // The path as dispatched: renaming replaces the clicked button before this runs.
    const path = event.composedPath();
    if (!drawerIsOpen() || path.includes(el.sidebar) || path.includes(el.sidebarToggle)) return;
    setSidebarOpen(false);
  }

  function isTyping(target) {
    return target instanceof Element && target.closest('input, textarea, select, [contenteditable]') !== null;
  }

  function focusPrompt() {
    setSidebarOpen(false);
    el.prompt.focus();
  }

  /** Escape closes the drawer, else stops the answer; "/" (when not typing) or Ctrl/Cmd+K focuses the prompt. */
  function onShortcut(event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.key === 'Escape') {
      if (event.target === el.search && el.search.value) return; // the browser clears the search
      if (drawerIsOpen()) {
        setSidebarOpen(false);
      } else if (currentTurn()) {
        stop();
      }
      return;
    }
    const modifier = event.ctrlKey || event.metaKey;
    const commandK = modifier && !event.altKey && !event.shiftKey && event.key.toLowerCase() === 'k';
    const slash = event.key === '/' && !modifier && !event.altKey && !isTyping(event.target);
    if (!commandK && !slash) return;
    event.preventDefault();
    focusPrompt();
  }

  // --- Frames from the server --------------------------------------------------------------------

  function onReady(frame) {
    state.ready = true;
    state.reconnectAttempt = 0;
    state.tokenRetried = false;
    setStatus('connected');
    flushOutbox();
  }

  function adoptConversation(turn, conversationId, title) {
    if (!conversationId) return;
    turn.conversationId = conversationId;
    if (state.conversationId === null && turn.answerBubble.isConnected) {
      selectConversation(conversationId);
    }
    rememberConversation(conversationId, title);
  }

  function onTyping(turn, frame) {
    adoptConversation(turn, frame.conversation_id, frame.title);
  }

  function onToken(turn, frame) {
    // Offsets make replays idempotent: keep only the characters past what we already have. A gap
    // (offset beyond our text) cannot occur in order on one socket; `resume` covers reconnects.
    // Offsets count code points, as Python does, not UTF-16 units: Array.from splits by code point.
    if (frame.offset > turn.chars) return;
    const unseen = Array.from(frame.content).slice(turn.chars - frame.offset);
    if (unseen.length === 0) return;
    turn.text += unseen.join('');
    turn.chars += unseen.length;
    scheduleRender(turn);
  }

  function onDone(turn, frame) {
    adoptConversation(turn, frame.conversation_id);
    const usage = { ...frame.usage, cost_usd: frame.cost_usd, model: frame.model, cached: frame.cached };
    finishTurn(turn, null, metaLine(usage));
    loadConversations().catch(report);
  }

  function onError(frame) {
    const turn = state.turns.get(frame.id);
    if (!turn) {
      showNotice(frame.message);
      return;
    }
    finishTurn(turn, 'failed', errorLine(frame));
  }

  /** Wraps a handler for frames about one answer; frames about answers no longer pending are stale. */
  function forTurn(handler) {
    return (frame) => {
      const turn = state.turns.get(frame.id);
      if (!turn) return;
      turn.heard = true;
      handler(turn, frame);
    };
  }

  const FRAME_HANDLERS = {
    ready: onReady,
    typing: forTurn(onTyping),
    token: forTurn(onToken),
    done: forTurn(onDone),
    cancelled: forTurn((turn) => finishTurn(turn, 'cancelled')),
    error: onError,
    ping: () => sendFrame({ type: 'pong' }), // the server's heartbeat: answering keeps the connection
    pong: () => {},
  };

  function onSocketMessage(event) {
    const frame = JSON.parse(event.data);
    const handler = FRAME_HANDLERS[frame.type];
    if (handler) handler(frame);
  }

  // --- Connection --------------------------------------------------------------------------------

  function sendFrame(frame) {
    if (!state.ready) return; // still in the outbox: flushOutbox sends it after the next `ready`
    state.socket.send(JSON.stringify(frame));
  }

  function flushOutbox() {
    for (const turn of state.turns.values()) {
      const resume = { type: 'resume', id: turn.id, offset: turn.chars };
      sendFrame(turn.heard ? resume : turn.frame); // the server deduplicates messages by id
      if (turn.cancelRequested) sendFrame({ type: 'cancel', id: turn.id });
    }
  }

  async function connect() {
    setStatus('connecting');
    let token;
    try {
      token = await getToken({ fresh: true });
    } catch {
      scheduleReconnect();
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const socket = new WebSocket(scheme + location.host + config.wsPath, ['catalyst.v1', `bearer.${token}`]);
    socket.addEventListener('message', onSocketMessage);
    socket.addEventListener('close', onSocketClose);
    state.socket = socket;
  }

  function onSocketClose(event) {
    state.socket = null;
    state.ready = false;
    if (event.code === CLOSE_FORBIDDEN) {
      setStatus('disconnected');
      showNotice('You are not allowed to chat in this tenant.');
    } else if (event.code === CLOSE_TOKEN_REJECTED && state.tokenRetried) {
      goToLogin();
    } else if (event.code === CLOSE_TOKEN_REJECTED) {
      state.tokenRetried = true;
      connect();
    } else {
      scheduleReconnect();
    }
  }

  function scheduleReconnect() {
    let remaining = BACKOFF_SECONDS[Math.min(state.reconnectAttempt, BACKOFF_SECONDS.length - 1)];
    state.reconnectAttempt += 1;
    const showCountdown = () => setStatus('reconnecting', `reconnecting in ${remaining} s`);
    showCountdown();
    clearInterval(state.countdownTimer);
    state.countdownTimer = setInterval(() => {
      remaining -= 1;
      if (remaining > 0) {
        showCountdown();
        return;
      }
      clearInterval(state.countdownTimer);
      connect();
    }, 1000);
  }

  // --- Start -------------------------------------------------------------------------------------

  function switchTenant() {
    location.assign(`${location.pathname}?tenant=${encodeURIComponent(el.tenant.value)}`);
  }

  function bindEvents() {
    el.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      sendPrompt();
    });
    el.prompt.addEventListener('keydown', onPromptKeydown);
    el.stop.addEventListener('click', stop);
    el.regenerate.addEventListener('click', regenerate);
    el.model.addEventListener('change', onModelChange);
    el.newConversation.addEventListener('click', startNewConversation);
    el.conversations.addEventListener('click', onConversationClick);
    el.search.addEventListener('input', debounce(() => loadConversations().catch(report), SEARCH_DEBOUNCE_MS));
    el.notice.addEventListener('click', () => {
      el.notice.hidden = true;
    });
    if (el.tenant) el.tenant.addEventListener('change', switchTenant);
    el.sidebarToggle.addEventListener('click', () => setSidebarOpen(!drawerIsOpen()));
    NARROW.addEventListener('change', () => setSidebarOpen(false));
    document.addEventListener('click', onDocumentClick);
    document.addEventListener('keydown', onShortcut);
  }

  bindEvents();
  connect();
  loadModels().catch(report);
  reopenLastConversation().catch(report);
  loadConversations().catch(report);
  updateControls();
})();

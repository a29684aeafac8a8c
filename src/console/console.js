// The alarm console: sign in, the heat-wave banner, open alerts updated live, and the operator
// actions (acknowledge, shelve, unshelve, declare or end a heat wave) through the same API routes
// and roles as every other client. Deep links: #/alerts/{id} opens and highlights that alert.
import { api, ApiError, session } from './api.js';
import { activeFor, formatNumber, formatTime, needsAcknowledgement, SEVERITIES, shelveChoices, sortAlerts, STATE_LABELS } from './format.js';
import { openAlertStream } from './stream.js';

const NAME_KEY = 'hydrowatch.console.name';
const SOUND_KEY = 'hydrowatch.console.sound';

const $ = (id) => document.getElementById(id);

const state = {
  /** id → AlertView of every open alert. */
  alerts: new Map(),
  regions: [],
  maxShelveMinutes: 480,
  /** The alert named in #/alerts/{id}, and its record when it is not open (closed). */
  linkedId: undefined,
  linkedRecord: undefined,
  focusLinked: false,
  stream: undefined,
  openMode: false,
};

/** Creates an element: h('p', { class: 'x', onclick }, 'text', child). Text is always text, never HTML. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false || value === null) continue;
    if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) element.append(child);
  return element;
}

// ——— start and sign-in ———

async function start() {
  $('sound').addEventListener('click', toggleSound);
  showSound();
  $('sign-out').addEventListener('click', signOut);
  $('signin-form').addEventListener('submit', onSignIn);
  $('filter-severity').append(...SEVERITIES.map((s) => h('option', { value: s }, s[0].toUpperCase() + s.slice(1))));
  $('filter-site').addEventListener('change', renderAlerts);
  $('filter-severity').addEventListener('change', renderAlerts);
  $('dialog-cancel').addEventListener('click', () => $('action-dialog').close('cancel'));
  window.addEventListener('hashchange', onRoute);
  setInterval(refreshTimes, 30_000);
  onRoute();
  await connect();
}

/** Tries the API with the token in this tab (or none: insecure mode needs none). */
async function connect() {
  try {
    await loadHeatwave();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      const hadToken = session.token() !== null;
      session.signOut();
      return showSignIn(hadToken ? 'That token was not accepted. Check it and sign in again.' : '');
    }
    setConnection('retrying', error instanceof ApiError ? error.plain : String(error));
    setTimeout(connect, 5000);
    return;
  }
  state.openMode = session.token() === null;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = state.openMode;
  state.stream?.close();
  state.stream = openAlertStream({ onEvent, onStatus: setConnection, onRefused: (error) => (error.status === 401 ? showSignIn(error.plain) : showMessage(error.plain)) });
}

function showSignIn(error) {
  state.stream?.close();
  state.stream = undefined;
  $('app').hidden = true;
  $('signin').hidden = false;
  $('sign-out').hidden = true;
  $('signin-error').textContent = error;
  setConnection('signed-out');
  $('token').focus();
}

async function onSignIn(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  if (!token) {
    $('signin-error').textContent = 'Paste your API token first.';
    return;
  }
  session.signIn(token);
  $('token').value = '';
  $('signin-error').textContent = '';
  await connect();
}

function signOut() {
  session.signOut();
  state.alerts.clear();
  state.regions = [];
  renderAlerts();
  showSignIn('');
}

function setConnection(status, detail) {
  const element = $('connection');
  element.dataset.state = status;
  element.textContent = {
    connecting: 'Connecting…',
    live: 'Live',
    retrying: typeof detail === 'number' ? `Connection lost — retrying in ${detail} s` : `Not connected — ${detail ?? 'retrying'}`,
    'signed-out': 'Signed out',
  }[status];
}

// ——— live data ———

function onEvent(name, data) {
  if (name === 'snapshot') {
    state.alerts = new Map(data.alerts.map((alert) => [alert.id, alert]));
    state.maxShelveMinutes = data.maxShelveMinutes;
    loadHeatwave().catch(() => undefined);
    if (state.linkedId) loadLinked();
    renderAlerts();
  } else if (name === 'alert') {
    const { kind, alert } = data;
    const wasKnown = state.alerts.has(alert.id);
    if (alert.state === 'cleared') state.alerts.delete(alert.id);
    else state.alerts.set(alert.id, alert);
    if (alert.id === state.linkedId) state.linkedRecord = alert;
    if (kind === 'raised' && !wasKnown && !alert.replayed) announceNew(alert);
    renderAlerts();
  } else if (name === 'heatwave') {
    loadHeatwave().catch(() => undefined);
  }
}

async function loadHeatwave() {
  const { regions } = await api('GET', '/api/heatwave');
  state.regions = regions;
  renderHeatwave();
}

async function loadLinked() {
  if (!state.linkedId || state.alerts.has(state.linkedId)) return;
  try {
    state.linkedRecord = await api('GET', `/api/alerts/${encodeURIComponent(state.linkedId)}`);
  } catch (error) {
    state.linkedRecord = undefined;
    showMessage(error instanceof ApiError && error.status === 404 ? `The linked alert ${state.linkedId} no longer exists (closed alerts are kept for a while, then dropped).` : error.plain ?? String(error));
  }
  renderAlerts();
}

function onRoute() {
  const match = /^#\/alerts\/([^/]+)$/.exec(location.hash);
  state.linkedId = match ? decodeURIComponent(match[1]) : undefined;
  state.linkedRecord = undefined;
  state.focusLinked = state.linkedId !== undefined;
  if (state.linkedId && state.alerts.has(state.linkedId)) {
    // A filter must not hide the alert someone followed a link to.
    const alert = state.alerts.get(state.linkedId);
    if ($('filter-site').value && $('filter-site').value !== alert.site) $('filter-site').value = '';
    if ($('filter-severity').value && $('filter-severity').value !== alert.severity) $('filter-severity').value = '';
  }
  if (state.stream) loadLinked();
  renderAlerts();
}

// ——— announcements: title, screen readers, sound ———

function announceNew(alert) {
  const text = `New ${alert.severity} alert: ${alert.rule} on ${alert.asset} at ${alert.site} — ${alert.message}`;
  if (alert.severity === 'critical') {
    $('announce-urgent').textContent = text;
    if (localStorage.getItem(SOUND_KEY) === 'on') beep();
  } else {
    $('announce').textContent = text;
  }
}

function updateTitle() {
  const critical = [...state.alerts.values()].filter((a) => a.severity === 'critical' && needsAcknowledgement(a) && !a.shelved).length;
  document.title = critical > 0 ? `(${critical}) CRITICAL — hydrowatch alarm console` : 'hydrowatch alarm console';
}

let audio;
function toggleSound() {
  const on = localStorage.getItem(SOUND_KEY) !== 'on';
  localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
  // Browsers only let a page make sound after a click: this is the click.
  if (on) {
    audio ??= new AudioContext();
    audio.resume();
    beep();
  }
  showSound();
}

function showSound() {
  const on = localStorage.getItem(SOUND_KEY) === 'on';
  $('sound').setAttribute('aria-pressed', String(on));
  $('sound').textContent = on ? 'Sound on' : 'Sound off';
}

function beep() {
  if (!audio) return;
  const at = audio.currentTime;
  [880, 660, 880].forEach((frequency, i) => {
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.2, at + i * 0.25);
    gain.gain.exponentialRampToValueAtTime(0.001, at + i * 0.25 + 0.22);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(at + i * 0.25);
    oscillator.stop(at + i * 0.25 + 0.22);
  });
}

function showMessage(text) {
  const element = $('message');
  element.textContent = text;
  element.hidden = !text;
}

// ——— rendering ———

function renderHeatwave() {
  const focusKey = document.activeElement?.dataset?.focus;
  const list = $('regions');
  list.replaceChildren(
    ...state.regions.map((region) => {
      const declared = region.declared;
      const facts = [
        `${region.hotDays} hot day${region.hotDays === 1 ? '' : 's'} (35 °C or more)`,
        region.tmax_c === null ? undefined : `Tmax ${formatNumber(region.tmax_c)} °C`,
        region.level ? `CMA ${region.level} warning` : undefined,
      ].filter(Boolean);
      const who = declared
        ? `${declared.active ? 'Declared' : 'Ended'} by ${declared.by} at ${formatTime(declared.at)}: ${declared.reason}`
        : 'Set by the daily assessment (three hot days make a heat wave).';
      const actions = [
        region.active
          ? h('button', { type: 'button', class: 'secondary', 'data-focus': `hw:${region.region}:end`, onclick: () => heatwaveDialog(region, false) }, 'End heat wave…')
          : h('button', { type: 'button', class: 'secondary', 'data-focus': `hw:${region.region}:declare`, onclick: () => heatwaveDialog(region, true) }, 'Declare heat wave…'),
        region.source === 'manual'
          ? h('button', { type: 'button', class: 'quiet', 'data-focus': `hw:${region.region}:auto`, onclick: () => heatwaveDialog(region, null) }, 'Hand back to assessment…')
          : undefined,
      ];
      return h(
        'li',
        { class: `region ${region.active ? 'hot' : 'normal'}` },
        h('p', { class: 'region-state' }, h('strong', {}, region.active ? 'HEAT WAVE' : 'No heat wave'), ` — ${region.region}`),
        h('p', { class: 'region-facts' }, facts.join(' · ')),
        h('p', { class: 'region-who' }, who),
        h('div', { class: 'actions' }, actions),
      );
    }),
  );
  $('heatwave').hidden = state.regions.length === 0;
  restoreFocus(focusKey);
}

function renderAlerts() {
  const focusKey = document.activeElement?.dataset?.focus;
  const site = $('filter-site').value;
  const severity = $('filter-severity').value;
  const open = sortAlerts(state.alerts.values());
  const shown = open.filter((a) => (!site || a.site === site) && (!severity || a.severity === severity));

  // Site choices: every site with an open alert, plus the one chosen.
  const sites = [...new Set([...open.map((a) => a.site), ...(site ? [site] : [])])].sort();
  $('filter-site').replaceChildren(h('option', { value: '' }, 'All sites'), ...sites.map((s) => h('option', { value: s, selected: s === site }, s)));

  $('alerts').replaceChildren(...shown.map((alert) => alertItem(alert, alert.id === state.linkedId)));
  const unacknowledged = open.filter(needsAcknowledgement).length;
  $('counts').textContent = `${open.length} open · ${unacknowledged} unacknowledged${shown.length !== open.length ? ` · ${shown.length} shown` : ''}`;
  $('empty').hidden = shown.length > 0;
  $('empty').textContent = open.length === 0 ? 'No open alerts.' : 'No open alerts match these filters.';

  const linked = state.linkedId && !state.alerts.has(state.linkedId) ? state.linkedRecord : undefined;
  $('linked').hidden = !linked;
  $('linked-list').replaceChildren(...(linked ? [alertItem(linked, true)] : []));
  updateTitle();

  if (focusKey) restoreFocus(focusKey);
  if (state.focusLinked && state.linkedId) {
    const heading = document.getElementById(`alert-${state.linkedId}-title`);
    if (heading) {
      state.focusLinked = false;
      heading.focus();
      heading.scrollIntoView({ block: 'center' });
    }
  }
}

/** Focus back on the control with this data-focus key after a re-render; false when it is gone. */
function restoreFocus(key) {
  if (!key) return false;
  const element = document.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (!element) return false;
  if (document.activeElement !== element) element.focus();
  return true;
}

function alertItem(alert, linked) {
  const titleId = `alert-${alert.id}-title`;
  const since = formatTime(alert.raisedAt);
  // Site, asset and rule are in the heading; the facts are what changes.
  const facts = [
    ['Value', `${formatNumber(alert.value)} against threshold ${formatNumber(alert.threshold)}`],
    [alert.clearedAt ? 'Was active' : 'Active for', h('span', { 'data-since': alert.id }, activeFor(alert)), ` (since ${since})`],
  ];
  const notes = [];
  if (alert.acknowledged) {
    const { by, at, note } = alert.acknowledged;
    notes.push(h('p', { class: 'who' }, h('strong', {}, 'Acknowledged'), ` by ${by} at ${formatTime(at)}${note ? ` — “${note}”` : ''}`));
  }
  if (alert.shelved) {
    const { by, until, reason } = alert.shelved;
    notes.push(h('p', { class: 'who' }, h('strong', {}, 'Shelved'), ` by ${by} until ${formatTime(until)} — “${reason}”`));
  }
  if (alert.replayed) notes.push(h('p', { class: 'who' }, 'From replayed or late data: recorded, nobody was paged.'));
  const describe = { 'aria-describedby': titleId };
  const actions = [];
  if (needsAcknowledgement(alert)) actions.push(h('button', { type: 'button', class: 'primary', 'data-focus': `${alert.id}:ack`, onclick: () => acknowledgeDialog(alert), ...describe }, 'Acknowledge'));
  if (alert.state !== 'cleared' && !alert.shelved) actions.push(h('button', { type: 'button', class: 'secondary', 'data-focus': `${alert.id}:shelve`, onclick: () => shelveDialog(alert), ...describe }, 'Shelve…'));
  if (alert.shelved) actions.push(h('button', { type: 'button', class: 'secondary', 'data-focus': `${alert.id}:unshelve`, onclick: () => unshelveDialog(alert), ...describe }, 'Unshelve…'));

  return h(
    'li',
    { class: `alert sev-${alert.severity} state-${alert.state}${alert.shelved ? ' shelved' : ''}${linked ? ' linked' : ''}`, id: `alert-${alert.id}`, 'data-id': alert.id },
    h(
      'article',
      { 'aria-labelledby': titleId },
      h(
        'div',
        { class: 'alert-body' },
        h(
          'div',
          { class: 'badges' },
          h('span', { class: 'severity' }, alert.severity.toUpperCase()),
          h('span', { class: 'state' }, alert.shelved ? `${STATE_LABELS[alert.state]} · shelved` : STATE_LABELS[alert.state]),
          linked ? h('span', { class: 'link-badge' }, 'Linked') : undefined,
          h('a', { class: 'permalink', href: `#/alerts/${encodeURIComponent(alert.id)}`, 'aria-label': `Link to alert ${alert.id}` }, alert.id),
        ),
        h('h3', { id: titleId, tabindex: '-1' }, `${alert.asset} · ${alert.rule}`, h('span', { class: 'where' }, ` at ${alert.site}`)),
        h('p', { class: 'message-text' }, alert.message),
        h('dl', { class: 'facts' }, facts.map(([term, ...value]) => h('div', {}, h('dt', {}, term), h('dd', {}, ...value)))),
        notes,
      ),
      actions.length > 0 ? h('div', { class: 'actions' }, actions) : undefined,
    ),
  );
}

function refreshTimes() {
  for (const element of document.querySelectorAll('[data-since]')) {
    const alert = state.alerts.get(element.dataset.since) ?? (state.linkedRecord?.id === element.dataset.since ? state.linkedRecord : undefined);
    if (alert) element.textContent = activeFor(alert);
  }
}

// ——— actions ———

const nameField = () => ({ name: 'by', label: 'Your name', type: 'text', required: true, value: localStorage.getItem(NAME_KEY) ?? '', autocomplete: 'name', max: 128 });
const alertSummary = (alert) => `${alert.severity.toUpperCase()} · ${alert.asset} · ${alert.rule} at ${alert.site}: ${alert.message}`;

function acknowledgeDialog(alert) {
  openDialog({
    title: `Acknowledge ${alert.id}`,
    summary: alertSummary(alert),
    submit: 'Acknowledge',
    fields: [nameField(), { name: 'note', label: 'Note (optional)', type: 'textarea', max: 500, hint: 'e.g. crew 2 sent' }],
    alertId: alert.id,
    send: (values) => api('POST', `/api/alerts/${encodeURIComponent(alert.id)}/ack`, { by: values.by, ...(values.note ? { note: values.note } : {}) }),
    done: (updated) => `${updated.id} acknowledged.`,
  });
}

function shelveDialog(alert) {
  const choices = shelveChoices(state.maxShelveMinutes);
  openDialog({
    title: `Shelve ${alert.id}`,
    summary: `${alertSummary(alert)}. While shelved, nobody is notified about it.`,
    submit: 'Shelve',
    fields: [
      nameField(),
      { name: 'reason', label: 'Reason', type: 'textarea', required: true, min: 3, max: 500, hint: 'e.g. pump isolated for repair' },
      { name: 'minutes', label: 'For how long', type: 'select', options: choices.map((c) => [String(c.minutes), c.label]), value: String(choices.find((c) => c.minutes === 60)?.minutes ?? choices.at(-1).minutes) },
    ],
    alertId: alert.id,
    send: (values) => api('POST', `/api/alerts/${encodeURIComponent(alert.id)}/shelve`, { by: values.by, reason: values.reason, minutes: Number(values.minutes) }),
    done: (updated) => `${updated.id} shelved until ${formatTime(updated.shelved.until)}.`,
  });
}

function unshelveDialog(alert) {
  openDialog({
    title: `Unshelve ${alert.id}`,
    summary: `${alertSummary(alert)}. Notifications resume.`,
    submit: 'Unshelve',
    fields: [nameField()],
    alertId: alert.id,
    send: (values) => api('POST', `/api/alerts/${encodeURIComponent(alert.id)}/unshelve`, { by: values.by }),
    done: (updated) => `${updated.id} unshelved.`,
  });
}

function heatwaveDialog(region, active) {
  const verb = active === true ? 'Declare' : active === false ? 'End' : 'Hand back';
  openDialog({
    title: active === null ? `Hand ${region.region} back to the daily assessment` : `${verb} a heat wave in ${region.region}`,
    summary:
      active === true
        ? 'Rules switch to their heat-wave settings and the demand-peak rules arm, until the heat wave is ended or handed back.'
        : active === false
          ? 'Rules return to their normal settings, whatever the temperatures say, until it is handed back to the assessment.'
          : 'The daily assessment (three days at 35 °C or more) decides again.',
    submit: active === null ? 'Hand back' : `${verb} heat wave`,
    fields: [nameField(), { name: 'reason', label: 'Reason', type: 'textarea', required: true, min: 3, max: 500, hint: active ? 'e.g. CMA orange warning, 38 °C forecast' : '' }],
    send: (values) => api('PUT', '/api/heatwave', { region: region.region, active, by: values.by, reason: values.reason }),
    done: (result) => {
      state.regions = state.regions.map((r) => result.regions.find((u) => u.region === r.region) ?? r);
      renderHeatwave();
      return `Heat wave in ${region.region}: ${active === null ? 'handed back to the assessment' : active ? 'declared' : 'ended'}.`;
    },
  });
}

/** One dialog for every action: labelled fields, checks before sending, the API's refusal in plain words. */
function openDialog({ title, summary, submit, fields, send, done, alertId }) {
  const dialog = $('action-dialog');
  const opener = document.activeElement?.dataset?.focus;
  $('dialog-title').textContent = title;
  $('dialog-summary').textContent = summary;
  $('dialog-submit').textContent = submit;
  $('dialog-error').textContent = '';
  $('dialog-fields').replaceChildren(...fields.map(fieldElement));
  const form = $('action-form');
  const onSubmit = async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(fields.map((f) => [f.name, form.elements[f.name].value.trim()]));
    const missing = fields.find((f) => (f.required && !values[f.name]) || (f.min && values[f.name].length < f.min));
    if (missing) {
      $('dialog-error').textContent = `Please fill in “${missing.label}”${missing.min ? ` (at least ${missing.min} characters)` : ''}.`;
      form.elements[missing.name].focus();
      return;
    }
    $('dialog-submit').disabled = true;
    try {
      const result = await send(values);
      if (values.by) localStorage.setItem(NAME_KEY, values.by);
      if (alertId) {
        if (result.state === 'cleared') state.alerts.delete(result.id);
        else state.alerts.set(result.id, result);
        if (result.id === state.linkedId) state.linkedRecord = result;
        renderAlerts();
      }
      $('announce').textContent = done(result);
      showMessage('');
      dialog.close('done');
    } catch (error) {
      $('dialog-error').textContent = error instanceof ApiError ? error.plain : String(error);
      if (error instanceof ApiError && error.status === 401) {
        dialog.close('refused');
        showSignIn(error.plain);
      }
    } finally {
      $('dialog-submit').disabled = false;
    }
  };
  form.addEventListener('submit', onSubmit);
  dialog.addEventListener(
    'close',
    () => {
      form.removeEventListener('submit', onSubmit);
      // The button may be gone (acknowledged): then the alert's heading.
      if (!restoreFocus(opener) && alertId) document.getElementById(`alert-${alertId}-title`)?.focus();
    },
    { once: true },
  );
  dialog.showModal();
  const firstEmpty = fields.find((f) => !f.value);
  (firstEmpty ? form.elements[firstEmpty.name] : form.elements[fields[0].name]).focus();
}

function fieldElement(field) {
  const id = `field-${field.name}`;
  const hintId = field.hint ? `${id}-hint` : undefined;
  let control;
  if (field.type === 'textarea') {
    control = h('textarea', { id, name: field.name, rows: 3, maxlength: field.max, required: field.required, 'aria-describedby': hintId });
    control.value = field.value ?? '';
  } else if (field.type === 'select') {
    control = h('select', { id, name: field.name }, field.options.map(([value, label]) => h('option', { value, selected: value === field.value }, label)));
  } else {
    control = h('input', { id, name: field.name, type: 'text', maxlength: field.max, required: field.required, autocomplete: field.autocomplete, 'aria-describedby': hintId, value: field.value });
  }
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, field.label, field.required ? h('span', { class: 'required' }, ' (required)') : undefined),
    control,
    field.hint ? h('p', { class: 'hint', id: hintId }, field.hint) : undefined,
  );
}

start();

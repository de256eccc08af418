// gslb dashboard: plain browser JavaScript, no build step, no library. It reads the admin API
// (/v1/dashboard, /v1/pools, /v1/explain, /v1/demo), follows /v1/events (server-sent events, read
// with fetch so the bearer token can be sent), and changes state with the same PUTs as the CLI.

const $ = (id) => document.getElementById(id)
const SITE_COLORS = ['#2f6fde', '#1f9d55', '#d9822b', '#8e44ad', '#16a2b8', '#c0392b', '#7f8c8d']
const HISTORY = 60

const state = {
  token: sessionStorage.getItem('gslb-token') ?? '',
  boot: null,
  pools: null,
  demo: null,
  shares: [],
  colors: new Map(),
  refreshTimer: null
}

class Unauthorized extends Error {}

async function api (path, options = {}) {
  const headers = { 'x-gslb-user': 'dashboard', ...(options.body ? { 'content-type': 'application/json' } : {}), ...(state.token ? { authorization: `Bearer ${state.token}` } : {}) }
  const res = await fetch(path, { ...options, headers })
  if (res.status === 401) throw new Unauthorized()
  const body = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`)
  return body
}

function el (tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else if (k === 'class') e.className = v
    else e.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c))
  return e
}

function colorOf (site) {
  if (!state.colors.has(site)) state.colors.set(site, SITE_COLORS[state.colors.size % SITE_COLORS.length])
  return state.colors.get(site)
}

// ── Start, token ─────────────────────────────────────────────────────────────────────────────

async function start () {
  try {
    state.boot = await api('/v1/dashboard')
  } catch (err) {
    if (err instanceof Unauthorized) return askToken()
    $('live').textContent = `cannot load: ${err.message}`
    return
  }
  $('token-form').hidden = true
  $('version').textContent = `config ${state.boot.version}`
  $('demo-badge').hidden = !state.boot.demo
  for (const s of state.boot.sites) colorOf(s)
  setUpWho()
  for (const e of state.boot.timeline) addTimeline(e, false)
  if (!state.boot.counting) $('shares-note').textContent = 'Shares need metrics: metrics.enabled is false.'
  await refresh()
  follow()
}

function askToken (message = '') {
  $('token-form').hidden = false
  $('token-error').textContent = message
  $('live').dataset.state = 'lost'
  $('live').textContent = 'token needed'
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault()
  state.token = $('token').value.trim()
  sessionStorage.setItem('gslb-token', state.token)
  start()
})

// ── Live events ──────────────────────────────────────────────────────────────────────────────

async function follow () {
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0) await reloadTimeline()
      const res = await fetch('/v1/events', { headers: state.token ? { authorization: `Bearer ${state.token}` } : {} })
      if (res.status === 401) return askToken('the token was refused')
      $('live').dataset.state = 'live'
      $('live').textContent = 'live'
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          handleEvent(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
        }
      }
    } catch { /* the server went away: say so and try again */ }
    $('live').dataset.state = 'lost'
    $('live').textContent = 'reconnecting…'
    await new Promise(resolve => setTimeout(resolve, 2000))
    refresh().catch(() => {})
  }
}

/** After a lost stream: the timeline again from the server, which kept what happened meanwhile. */
async function reloadTimeline () {
  const boot = await api('/v1/dashboard')
  $('timeline').replaceChildren()
  for (const e of boot.timeline) addTimeline(e, false)
}

function handleEvent (text) {
  let type = 'message'
  let data = ''
  for (const line of text.split('\n')) {
    if (line.startsWith('event: ')) type = line.slice(7)
    else if (line.startsWith('data: ')) data += line.slice(6)
  }
  if (data === '') return
  const payload = JSON.parse(data)
  if (type === 'timeline') addTimeline(payload, true)
  else if (type === 'shares') addShares(payload)
  else if (type === 'changed') scheduleRefresh()
}

/** Many changes in a burst cause one refresh. */
function scheduleRefresh () {
  if (state.refreshTimer !== null) return
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; refresh().catch(() => {}) }, 150)
}

async function refresh () {
  const [pools, demo] = await Promise.all([api('/v1/pools'), state.boot.demo ? api('/v1/demo') : Promise.resolve(null)])
  state.pools = pools
  state.demo = demo
  renderSites()
  await explainNow()
}

// ── Sites and members ────────────────────────────────────────────────────────────────────────

function servedState (pool, m) {
  if (m.eligible) return { text: 'served', cls: 'served' }
  const d = pool.ipv4.kind === 'members' ? pool.ipv4 : pool.url
  if (d.mode === 'fail-open' && d.members.includes(m.name)) return { text: 'served (fail-open)', cls: 'failopen' }
  return { text: 'out', cls: 'out' }
}

function renderSites () {
  const bySite = new Map()
  for (const pool of state.pools.pools) {
    for (const m of pool.members) {
      const site = m.site ?? '(no site)'
      if (!bySite.has(site)) bySite.set(site, [])
      bySite.get(site).push({ pool, m })
    }
  }
  const container = $('sites')
  container.replaceChildren()
  for (const [site, rows] of bySite) {
    const served = rows.filter(r => r.m.eligible).length
    const cls = served === rows.length ? 'up' : served === 0 ? 'down' : 'partial'
    const actions = el('div', { class: 'actions' })
    if (site !== '(no site)') {
      actions.append(
        el('button', { 'data-testid': `site-drain-${site}`, onclick: () => siteAdmin(site, 'drain') }, 'drain site'),
        el('button', { 'data-testid': `site-ready-${site}`, onclick: () => siteAdmin(site, 'ready') }, 'ready')
      )
      if (state.demo !== null && state.demo.sites.includes(site)) {
        for (const kind of ['down', 'slow', 'error', 'flap', 'up']) {
          actions.append(el('button', { class: 'fault', 'data-testid': `fault-${site}-${kind}`, title: `demo: make every backend of ${site} ${kind}`, onclick: () => fault(site, kind) }, `${site} ${kind}`))
        }
      }
    }
    const table = el('table', {},
      el('tr', {}, el('th', {}, 'member'), el('th', {}, 'health'), el('th', {}, 'admin'), el('th', {}, 'weight'), el('th', {}, 'state'), el('th', {}, ''))
    )
    for (const { pool, m } of rows) {
      const s = servedState(pool, m)
      const key = `${pool.name}/${m.name}`
      const backend = state.demo?.backends.find(b => b.name === m.name)
      table.append(el('tr', { 'data-testid': `member-${key}` },
        el('td', {}, key, el('div', { class: 'why' }, m.address ?? m.host ?? m.url ?? '')),
        el('td', {}, el('span', { class: `dot ${m.health}` }), m.health, el('div', { class: 'why' }, m.health === 'up' ? '' : m.health_reason), clusterViews(m)),
        el('td', {}, m.force ? `${m.admin}, forced ${m.force}` : m.admin, m.note ? el('div', { class: 'why' }, `“${m.note}”`) : null, m.expires_at ? el('div', { class: 'why' }, `until ${new Date(m.expires_at).toLocaleTimeString()}`) : null),
        el('td', {}, String(m.weight), m.weight_source === 'config' ? '' : m.weight_source === 'operator' ? '*' : '~'),
        el('td', { class: s.cls, 'data-testid': `state-${key}` }, s.text, s.cls === 'out' ? el('div', { class: 'why' }, m.why) : null, backend && backend.fault.kind !== 'up' ? el('div', { class: 'why' }, `demo fault: ${backend.fault.kind}`) : null),
        el('td', {},
          el('button', { 'data-testid': `drain-${key}`, onclick: () => memberAdmin(pool.name, m.name, 'drain') }, 'drain'),
          el('button', { 'data-testid': `ready-${key}`, onclick: () => memberAdmin(pool.name, m.name, 'ready') }, 'ready'))
      ))
    }
    container.append(el('div', { class: 'site', 'data-testid': `site-${site}` },
      el('div', { class: 'site-head' }, el('h3', {}, site), el('span', { class: `site-state ${cls}` }, `${served}/${rows.length} served`), actions),
      table))
  }
  const pools = $('pools')
  pools.replaceChildren(el('h3', {}, 'Pool decisions'))
  for (const pool of state.pools.pools) {
    for (const [fam, d] of [['IPv4', pool.ipv4], ['IPv6', pool.ipv6], ['redirects', pool.url]]) {
      if (d.kind !== 'members') continue
      pools.append(el('div', { class: 'pool-line' }, el('b', {}, `${pool.name} ${fam}: `), `${d.mode}${d.site ? ` (site ${d.site})` : ''}, `, el('span', { class: 'why' }, d.reasons[d.reasons.length - 1] ?? '')))
    }
  }
}

/** In a cluster: this node's own view and every other fresh node's; the health shown is the quorum's. */
function clusterViews (m) {
  if (!m.cluster || m.cluster.nodes.length === 0) return null
  const views = [`this node ${m.cluster.local}`, ...m.cluster.nodes.map(n => `${n.node} ${n.health}`)]
  return el('div', { class: 'why', 'data-testid': 'node-views', title: m.cluster.nodes.map(n => `${n.node}: ${n.reason}`).join('\n') }, `nodes: ${views.join(', ')}`)
}

async function act (fn) {
  try {
    await fn()
    await refresh()
  } catch (err) {
    if (err instanceof Unauthorized) return askToken('the token was refused')
    alert(err.message)
  }
}

function memberAdmin (pool, member, stateName) {
  return act(() => api(`/v1/members/${encodeURIComponent(pool)}/${encodeURIComponent(member)}/admin`, { method: 'PUT', body: JSON.stringify({ state: stateName, note: 'from the dashboard' }) }))
}

function siteAdmin (site, stateName) {
  return act(() => api(`/v1/sites/${encodeURIComponent(site)}/admin`, { method: 'PUT', body: JSON.stringify({ state: stateName, note: 'from the dashboard' }) }))
}

function fault (target, kind) {
  return act(() => api(`/v1/demo/faults/${encodeURIComponent(target)}`, { method: 'PUT', body: JSON.stringify({ fault: kind }) }))
}

// ── Who gets what ────────────────────────────────────────────────────────────────────────────

function setUpWho () {
  const preset = $('client-preset')
  preset.replaceChildren(...state.boot.clients.map((c, i) => el('option', { value: String(i) }, `${c.label} (${c.ecs})`)))
  $('who-name').replaceChildren(el('option', { value: '' }, '(none)'), ...state.boot.names.map(n => el('option', { value: n.name }, n.name)))
  $('who-url').replaceChildren(el('option', { value: '' }, '(none)'), ...state.boot.urls.map(u => el('option', { value: u.url }, u.url)))
  if (state.boot.names.length > 0) $('who-name').value = state.boot.names[0].name
  if (state.boot.urls.length > 0) $('who-url').value = state.boot.urls[0].url
  for (const id of ['client-preset', 'who-name', 'who-url']) $(id).addEventListener('change', () => { if (id === 'client-preset') $('client-custom').value = ''; explainNow() })
  $('client-custom').addEventListener('change', () => explainNow())
  $('who-form').addEventListener('submit', (ev) => { ev.preventDefault(); explainNow() })
}

/** The client as explain wants it: DNS through a resolver with ECS, or the client itself; a redirect's peer. */
function chosenClient () {
  const custom = $('client-custom').value.trim()
  const text = custom !== '' ? custom : state.boot.clients[Number($('client-preset').value)]?.ecs
  if (!text) return null
  if (!text.includes('/')) return { dns: { client: text }, http: text, label: text }
  const [net] = text.split('/')
  const first = net.includes(':') ? `${net.replace(/::$/, '::')}1` : net.replace(/\.\d+$/, m => `.${Number(m.slice(1)) + 1}`)
  return { dns: { client: net.includes(':') ? '::1' : '127.0.0.1', ecs: text }, http: first, label: text }
}

async function explainNow () {
  const client = chosenClient()
  const name = $('who-name').value
  const url = $('who-url').value
  const why = []
  const dnsBox = $('answer-dns')
  const httpBox = $('answer-redirect')
  if (client === null) return
  if (name !== '') {
    try {
      const r = await api(`/v1/explain?${new URLSearchParams({ name, type: 'A', ...client.dns })}`)
      const records = r.answer.records.filter(x => x.type === 'A' || x.type === 'AAAA')
      dnsBox.replaceChildren(...(records.length === 0
        ? [el('span', { class: 'out' }, `${r.answer.rcode}, no addresses`)]
        : records.map(x => el('div', { 'data-testid': 'dns-record', 'data-site': siteOfAddress(x.data) }, x.data, siteTag(siteOfAddress(x.data))))),
      el('div', { class: 'why' }, `TTL ${records[0]?.ttl ?? '-'}, ECS scope ${r.answer.ecs_scope ?? '-'}`))
      why.push(`DNS ${name} for ${client.label}:`, ...(r.pool?.steps ?? []).map(s => `  ${s}`))
    } catch (err) { dnsBox.textContent = err.message }
  } else dnsBox.textContent = ''
  if (url !== '') {
    try {
      const r = await api(`/v1/explain?${new URLSearchParams({ url, client: client.http })}`)
      const site = r.answer.location ? siteOfUrl(r.answer.location) : null
      httpBox.replaceChildren(r.answer.location
        ? el('div', { 'data-testid': 'redirect-location', 'data-site': site }, `${r.answer.status} → ${r.answer.location}`, siteTag(site))
        : el('span', { class: 'out' }, `${r.answer.status}, no redirect`))
      why.push(`redirect ${url} for ${client.http}: ${r.answer.served_by ?? ''}`)
    } catch (err) { httpBox.textContent = err.message }
  } else httpBox.textContent = ''
  $('why').textContent = why.join('\n')
}

function siteTag (site) {
  return site ? el('span', { class: 'site-tag', style: `background:${colorOf(site)}` }, site) : null
}

function siteOfAddress (address) {
  for (const pool of state.pools?.pools ?? []) for (const m of pool.members) if (m.address === address) return m.site
  return null
}

function siteOfUrl (location) {
  for (const pool of state.pools?.pools ?? []) for (const m of pool.members) if (m.url && location.startsWith(m.url)) return m.site
  return null
}

// ── Shares ───────────────────────────────────────────────────────────────────────────────────

function addShares (sample) {
  const bySite = new Map()
  for (const [key, c] of Object.entries(sample.members)) {
    const site = c.site ?? '-'
    const s = bySite.get(site) ?? { dns: 0, http: 0 }
    s.dns += c.dns
    s.http += c.http
    bySite.set(site, s)
  }
  state.shares.push({ at: sample.at, bySite, members: sample.members })
  if (state.shares.length > HISTORY) state.shares.shift()
  renderShares()
}

function renderShares () {
  const svg = $('shares')
  const ns = 'http://www.w3.org/2000/svg'
  svg.replaceChildren()
  const totals = state.shares.map(s => [...s.bySite.values()].reduce((a, b) => a + b.dns + b.http, 0))
  const max = Math.max(1, ...totals)
  const w = 600 / HISTORY
  state.shares.forEach((s, i) => {
    let y = 160
    for (const [site, c] of s.bySite) {
      for (const [n, opacity] of [[c.dns, 1], [c.http, 0.45]]) {
        if (n === 0) continue
        const h = (n / max) * 150
        y -= h
        const r = document.createElementNS(ns, 'rect')
        r.setAttribute('x', String((HISTORY - state.shares.length + i) * w))
        r.setAttribute('y', String(y))
        r.setAttribute('width', String(w - 1))
        r.setAttribute('height', String(h))
        r.setAttribute('fill', colorOf(site))
        r.setAttribute('fill-opacity', String(opacity))
        r.setAttribute('data-site', site)
        svg.append(r)
      }
    }
  })
  $('shares-legend').replaceChildren(...[...state.colors].map(([site, color]) => el('span', {}, el('i', { style: `background:${color}` }), site)))
  // The last 10 seconds per member.
  const recent = state.shares.slice(-10)
  const sums = new Map()
  for (const s of recent) for (const [key, c] of Object.entries(s.members)) {
    const t = sums.get(key) ?? { site: c.site, dns: 0, http: 0 }
    t.dns += c.dns
    t.http += c.http
    sums.set(key, t)
  }
  const dnsTotal = [...sums.values()].reduce((a, b) => a + b.dns, 0)
  const httpTotal = [...sums.values()].reduce((a, b) => a + b.http, 0)
  const pct = (n, t) => t === 0 ? '-' : `${Math.round((100 * n) / t)}%`
  $('member-shares').replaceChildren(
    el('tr', {}, el('th', {}, 'member (last 10 s)'), el('th', {}, 'site'), el('th', {}, 'DNS'), el('th', {}, 'redirects')),
    ...[...sums].filter(([, t]) => t.dns + t.http > 0).map(([key, t]) => el('tr', { 'data-testid': `share-${key}` }, el('td', {}, key), el('td', {}, t.site ?? '-'), el('td', {}, `${t.dns} (${pct(t.dns, dnsTotal)})`), el('td', {}, `${t.http} (${pct(t.http, httpTotal)})`)))
  )
}

// ── Timeline ─────────────────────────────────────────────────────────────────────────────────

function addTimeline (e, fresh) {
  const text = e.kind === 'config'
    ? `configuration ${e.from} → ${e.to}`
    : `${e.subject}${e.site ? ` (${e.site})` : ''}: ${e.kind === 'served' ? '' : `${e.kind} `}${e.from ?? ''} → ${e.to}${e.detail ? `: ${e.detail}` : ''}`
  const li = el('li', { 'data-kind': e.kind }, el('time', { datetime: e.at }, new Date(e.at).toLocaleTimeString()), text)
  const list = $('timeline')
  list.prepend(li)
  while (list.children.length > 300) list.lastChild.remove()
  if (fresh) li.animate?.([{ background: '#fff3c4' }, { background: 'transparent' }], { duration: 1500 })
}

start()

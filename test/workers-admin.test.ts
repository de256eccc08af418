/**
 * The admin state protocol between the primary (PrimaryAdmin) and its workers (IpcAdminStore),
 * in process over fake channels that the test can hold back, on a manual clock: a change is
 * answered only after every worker applied it; a stuck worker delays answers by the confirmation
 * wait once, not once per queued change; a worker that gives up cancels its change; a stop never
 * leaves a change hanging; a state that does not decode is not confirmed.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryAdminStore } from '../src/core/admin-memory-store.js'
import type { AdminChange, AdminStore, AdminTable } from '../src/core/admin-state.js'
import { ManualClock } from '../src/core/clock.js'
import { ErrorCode, GslbError } from '../src/errors.js'
import { silentLogger } from '../src/log.js'
import { IpcAdminStore, PRIMARY_REPLY_MS } from '../src/workers/ipc-admin-store.js'
import type { Channel, ToPrimary, ToWorker } from '../src/workers/messages.js'
import { ACK_WAIT_MS, PrimaryAdmin } from '../src/workers/primary-admin.js'

const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve)) }

/** A worker connected to `primary` through a pair of channels; `hold` keeps its incoming messages back. */
function worker (primary: PrimaryAdmin, clock: ManualClock, name: string): { store: IpcAdminStore, hold: boolean, release: () => void, deliver: (m: ToWorker) => void, sent: ToPrimary[] } {
  let toWorker: (m: ToWorker) => void = () => {}
  let toPrimary: (m: ToPrimary) => void = () => {}
  const held: ToWorker[] = []
  const w = {
    store: undefined as unknown as IpcAdminStore,
    hold: false,
    sent: [] as ToPrimary[],
    release: () => { for (const m of held.splice(0)) toWorker(m) },
    /** A message to the worker as if from the primary. */
    deliver: (m: ToWorker) => toWorker(m),
  }
  const primarySide: Channel<ToPrimary, ToWorker> = {
    send: m => { if (w.hold) held.push(m); else queueMicrotask(() => toWorker(m)) },
    onMessage: fn => { toPrimary = fn },
  }
  const workerSide: Channel<ToWorker, ToPrimary> = {
    send: m => { w.sent.push(m); queueMicrotask(() => toPrimary(m)) },
    onMessage: fn => { toWorker = fn },
  }
  primary.attach(name, primarySide)
  w.store = new IpcAdminStore(workerSide, clock, silentLogger)
  return w
}

/** A store whose writes wait until the test lets them finish. */
class SlowStore implements AdminStore {
  readonly inner = new MemoryAdminStore()
  readonly gates: Array<() => void> = []
  get table (): AdminTable { return this.inner.table }
  async load (): Promise<void> {}
  async update (keys: readonly string[], change: AdminChange): Promise<void> {
    await new Promise<void>(resolve => this.gates.push(resolve))
    await this.inner.update(keys, change)
  }

  onChange (fn: () => void): void { this.inner.onChange(fn) }
  close (): void {}
}

describe('primary and workers: one admin state', () => {
  test('a change is answered only after every worker applied it', async () => {
    const clock = new ManualClock(0)
    const primary = new PrimaryAdmin(new MemoryAdminStore(), silentLogger, clock)
    const a = worker(primary, clock, 'a')
    const b = worker(primary, clock, 'b')
    await Promise.all([a.store.load(), b.store.load()])
    b.hold = true
    let answered = false
    const done = a.store.update(['web/m1'], { state: 'drain', setAt: 0 }).then(() => { answered = true })
    await flush()
    assert.equal(a.store.table.get('web/m1', 0)?.state, 'drain', 'applied in the worker that asked')
    assert.equal(answered, false, 'not answered while the other worker has not applied it')
    b.release()
    await done
    assert.equal(b.store.table.get('web/m1', 0)?.state, 'drain')
  })

  test('a stuck worker delays every queued change by one confirmation wait, not one each', async () => {
    const clock = new ManualClock(0)
    const primary = new PrimaryAdmin(new MemoryAdminStore(), silentLogger, clock)
    const a = worker(primary, clock, 'a')
    const b = worker(primary, clock, 'b')
    await Promise.all([a.store.load(), b.store.load()])
    b.hold = true
    const answered: number[] = []
    const changes = [1, 2, 3, 4, 5].map(i => a.store.update([`web/m${i}`], { state: 'maint', setAt: 0 }).then(() => answered.push(i)))
    await flush()
    assert.deepEqual(answered, [])
    clock.advance(ACK_WAIT_MS)
    await Promise.all(changes)
    assert.deepEqual(answered.sort(), [1, 2, 3, 4, 5], `all answered ${ACK_WAIT_MS} ms after they were written, well before ${PRIMARY_REPLY_MS} ms`)
  })

  test('a worker that gives up cancels its change: a change reported as failed never applies', async () => {
    const clock = new ManualClock(0)
    const store = new SlowStore()
    const primary = new PrimaryAdmin(store, silentLogger, clock)
    const a = worker(primary, clock, 'a')
    await a.store.load()
    const first = a.store.update(['web/m1'], { state: 'drain', setAt: 0 })
    const second = a.store.update(['web/m2'], { state: 'drain', setAt: 0 })
    await flush()
    assert.equal(store.gates.length, 1, 'the first write is under way, the second queued')
    clock.advance(PRIMARY_REPLY_MS)
    await assert.rejects(first, (e: unknown) => e instanceof GslbError && e.code === ErrorCode.STATE_UNAVAILABLE && /unless its write had already started/.test(e.message))
    await assert.rejects(second, (e: unknown) => e instanceof GslbError && e.code === ErrorCode.STATE_UNAVAILABLE)
    store.gates.shift()?.()
    await flush()
    assert.equal(store.gates.length, 0, 'the cancelled change was never started')
    assert.equal(store.table.get('web/m2', 0), undefined)
    assert.equal(store.table.get('web/m1', 0)?.state, 'drain', 'only the write already under way landed, as its message warned')
  })

  test('closing a worker rejects a change still waiting, and a state that does not decode is not confirmed', async () => {
    const clock = new ManualClock(0)
    const store = new SlowStore()
    const primary = new PrimaryAdmin(store, silentLogger, clock)
    const a = worker(primary, clock, 'a')
    await a.store.load()
    const waiting = a.store.update(['web/m1'], { state: 'drain', setAt: 0 })
    a.store.close()
    await assert.rejects(waiting, (e: unknown) => e instanceof GslbError && e.code === ErrorCode.STATE_UNAVAILABLE)

    const b = worker(new PrimaryAdmin(new MemoryAdminStore(), silentLogger, clock), clock, 'b')
    await b.store.load()
    b.deliver({ gslb: 'admin-state', version: 99, state: { version: 1, members: { 'web/m1': { state: 'sleeping' as 'drain' } } } })
    await flush()
    assert.equal(b.store.table.entries.size, 0, 'kept out')
    assert.ok(!b.sent.some(m => m.gslb === 'admin-applied' && m.version === 99), 'not confirmed')
    b.deliver({ gslb: 'admin-state', version: 100, state: { version: 1, members: { 'web/m1': { state: 'drain' } } } })
    await flush()
    assert.ok(b.sent.some(m => m.gslb === 'admin-applied' && m.version === 100))
  })
})

// The TV's floor-message rules (wallboard/src/lib/messages.ts): which messages a screen shows, in which order, which
// are new enough to flash, and the banner's turn.
import { describe, expect, it } from 'vitest';
import type { FloorMessage } from '../../server/messages/rules.ts';
import { FLASH_MS } from '../../wallboard/src/lib/alert-display.ts';
import { MessageArrivals, messagesOnScreen, nextMessage } from '../../wallboard/src/lib/messages.ts';

const T0 = Date.parse('2026-11-24T09:00:00Z');
const MIN = 60_000;
const msg = (id: string, over: Partial<FloorMessage> = {}): FloorMessage => ({
  id,
  text: `text ${id}`,
  level: 'info',
  boards: [],
  startsAt: new Date(T0).toISOString(),
  endsAt: new Date(T0 + 30 * MIN).toISOString(),
  createdBy: 'sup',
  endedBy: '',
  ...over,
});
const ids = (ms: FloorMessage[]) => ms.map((m) => m.id);

describe('messagesOnScreen', () => {
  it('shows messages for every board and for the rotation or the board on screen, not for other boards', () => {
    const all = [msg('every'), msg('sales', { boards: ['sales'] }), msg('lobby', { boards: ['lobby', 'x'] }), msg('other', { boards: ['support'] })];
    // a TV bound to the rotation "lobby", showing "sales" now
    expect(ids(messagesOnScreen(all, ['lobby', 'sales'], T0 + MIN)).sort()).toEqual(['every', 'lobby', 'sales']);
    // a board with no rotation
    expect(ids(messagesOnScreen(all, ['support', 'support'], T0 + MIN)).sort()).toEqual(['every', 'other']);
    // no board known yet: only the messages for every board
    expect(ids(messagesOnScreen(all, [undefined, undefined], T0 + MIN))).toEqual(['every']);
  });

  it('drops a message at its end by the clock, even without word from the server, and shows none before its start', () => {
    const m = msg('a'); // 09:00 to 09:30
    expect(ids(messagesOnScreen([m], [], T0 + 30 * MIN - 1))).toEqual(['a']);
    expect(messagesOnScreen([m], [], T0 + 30 * MIN)).toEqual([]);
    expect(messagesOnScreen([m], [], T0 - 1)).toEqual([]);
  });

  it('puts urgent messages first, then the newest first', () => {
    const at = (min: number) => new Date(T0 + min * MIN).toISOString();
    const all = [msg('old-info', { startsAt: at(0) }), msg('new-info', { startsAt: at(2) }), msg('old-urgent', { level: 'urgent', startsAt: at(1) }), msg('new-urgent', { level: 'urgent', startsAt: at(3) })];
    expect(ids(messagesOnScreen(all, [], T0 + 4 * MIN))).toEqual(['new-urgent', 'old-urgent', 'new-info', 'old-info']);
  });
});

describe('MessageArrivals', () => {
  it('does not flash what was up when the page started; flashes a new urgent message for FLASH_MS, not a new info one', () => {
    const a = new MessageArrivals();
    expect(a.update([msg('up', { level: 'urgent' })], T0)).toEqual([]);
    expect(a.flashing('up', T0)).toBe(false);
    const fresh = msg('fresh', { level: 'urgent' });
    expect(ids(a.update([msg('up', { level: 'urgent' }), fresh, msg('calm')], T0 + 1000))).toEqual(['fresh']);
    expect(a.flashing('fresh', T0 + 1000 + FLASH_MS - 1)).toBe(true);
    expect(a.flashing('fresh', T0 + 1000 + FLASH_MS)).toBe(false);
    expect(a.flashing('calm', T0 + 1000)).toBe(false);
    // the same list again: nothing new
    expect(a.update([msg('up', { level: 'urgent' }), fresh, msg('calm')], T0 + 2000)).toEqual([]);
  });

  it('forgets a message that left the list (no flash kept for it)', () => {
    const a = new MessageArrivals();
    a.update([], T0);
    a.update([msg('u', { level: 'urgent' })], T0);
    expect(a.flashing('u', T0 + 1)).toBe(true);
    a.update([], T0 + 2);
    expect(a.flashing('u', T0 + 3)).toBe(false);
  });
});

describe('nextMessage', () => {
  it('goes round the list, and starts from the first when the shown one is gone', () => {
    const list = [msg('a'), msg('b'), msg('c')];
    expect(nextMessage(list, 'a')).toBe('b');
    expect(nextMessage(list, 'c')).toBe('a');
    expect(nextMessage(list, 'gone')).toBe('a');
    expect(nextMessage([], 'a')).toBeNull();
  });
});

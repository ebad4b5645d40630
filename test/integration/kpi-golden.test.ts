// Golden test: the scenario of kpi-scenario.ts, every KPI of every window and scope worked out by hand.
// Event ids (e1…, s1…) refer to kpi-scenario.ts. Windows at now = 09:37:30 UTC (Europe/Istanbul):
//   today [2025-03-09 21:00, 09:38)  1h [08:38, 09:38)  15m [09:23, 09:38)  Erlang's 30 min [09:08, 09:38)
// Waits (s): V1 10, V2 30 (offer e4 arrives late), V3 5, V7 20, V9 40 (billing: T 20 s, short < 5 s);
//            C1 45, C2 70, C7 50 (support: T 60 s, short < 10 s); abandons V4 3 (short), V5 60, C3 8 (short in
//            support, though ≥ 5 s), C4 30.
// Handle times (s): V1 e3 300, V2 e6 240, V3 e10 180, V7 e18 240, V9 e24 600 (not resolved), C1 e27 600, C2 e30 1020.
// First public replies (s): T1 e40 57600 (created yesterday 15:00, replied 07:00), T2 e45 2700, T3 e49 540, T4 e51 660.
// Resolutions and FCR: V1 e3 yes; V2 e6 yes; V3 e10 no (transferred); V7 e18 no (cu1 had V1 at 06:00);
//   C1 e27 no (cu6's late ticket T5 of 03-05); C2 e30 yes; T1 e41 no (reopened; e43 is a second solve, not counted);
//   T2 e47 yes.
// IVR: e53 (yesterday) e54 e55 e56 e57 end sessions I0–I4; each also has an ivr.started (i0–i4), which no KPI counts.
//
// The events reach ClickHouse the way integrators send them: POST /v1/events, each with its own source's key — the
// ACD as JSON arrays, the CRM as NDJSON, the IVR one event per request — their times written in several offsets for
// the same instants, and with duplicates (twice in one batch, posted twice at once, re-sent later in another request,
// before and after a worker pass), none of which may change a figure below.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import type { IngestEvent, Source } from '../../server/ingest/contract.ts';
import type { WriteResult } from '../../server/ingest/writer.ts';
import { KPI_CATALOG, type KpiKey, type KpiValue } from '../../server/kpi/catalog.ts';
import { computeSeries, computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { materializeMeasures, rebuildMeasures } from '../../server/kpi/materialize.ts';
import { setQueueSettings, syncDefaultQueueSettings } from '../../server/kpi/settings.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { IVR_STARTS, LATE_EVENTS, MAIN_EVENTS, NOW, SUPPORT_SETTINGS, toIngestEvent, TZ, type ScenarioEvent } from './kpi-scenario.ts';

type Values = Partial<Record<KpiKey, KpiValue>>;
const c = (v: number): KpiValue => ({ value: v, n: v }); // a count: n is the count
const v = (value: number | null, n: number): KpiValue => ({ value, n });

interface Expected {
  today: Values;
  '1h': Values;
  '15m': Values;
  live: Values;
}

// Shared by scopes whose live side is only agents (no waiting contact, nothing offered in the last 30 minutes).
// required_agents = 0 when nothing was offered in the last 30 min; staffing_gap = 0 − (available + busy + acw).
const agentsOnly = (available: number, busy: number, acw: number, aux: number): Values => ({
  agents_available: c(available), agents_busy: c(busy), agents_acw: c(acw), agents_aux: c(aux),
  // occupancy = (busy + acw) ÷ (available + busy + acw)
  occupancy: v(available + busy + acw === 0 ? null : ((busy + acw) / (available + busy + acw)) * 100, available + busy + acw),
  required_agents: v(0, 0),
  staffing_gap: v(0 - (available + busy + acw), 0),
});

// ----- billing (and voice: the same contacts; voice also has the IVR) -----
const billingToday: Values = {
  offered: c(8), // e1 e4 e7 e11 e13 e15 e16 e22 (e19 is yesterday local)
  answered: c(5), // e2 e5 e8 e17 e23
  abandoned: c(1), // e14 (60 s)
  short_abandoned: c(1), // e12 (3 s)
  abandon_rate: v((1 / 6) * 100, 6), // 1 ÷ (5 + 1)
  service_level: v((3 / 6) * 100, 6), // e2 10 s, e8 5 s, e17 20 s ≤ 20 → 3 ÷ 6
  asa: v(105 / 5, 5), // (10 + 30 + 5 + 20 + 40) ÷ 5 = 21
  aht: v(1560 / 5, 5), // (300 + 240 + 180 + 240 + 600) ÷ 5 = 312
  csat: v((1 / 2) * 100, 2), // e58 5 (top 2), e62 3
  ces: v((1 / 1 / 6) * 100, 1), // e59 score 2 → 1 point; 1 ÷ 1 ÷ 6 × 100 = 16.67
  nps: v(((1 - 1) / 2) * 100, 2), // e60 10 promoter, e65 3 detractor → 0
  fcr: v((2 / 4) * 100, 4), // V1 yes, V2 yes, V3 no, V7 no
  fcr_survey: v((1 / 2) * 100, 2), // e61 1, e66 0
};
const billing1h: Values = {
  offered: c(6), // e4 e7 e11 e13 e15 e16
  answered: c(3), // e5 e8 e17
  abandoned: c(1), // e14
  short_abandoned: c(1), // e12
  abandon_rate: v((1 / 4) * 100, 4), // 1 ÷ (3 + 1)
  service_level: v((2 / 4) * 100, 4), // e8, e17
  asa: v(55 / 3, 3), // (30 + 5 + 20) ÷ 3
  aht: v(660 / 3, 3), // (240 + 180 + 240) ÷ 3 = 220
  csat: v(0, 1), // e62 3 → 0 ÷ 1
  nps: v(((0 - 1) / 1) * 100, 1), // e65 detractor → −100
  fcr: v((1 / 3) * 100, 3), // V2 yes, V3 no, V7 no
  fcr_survey: v(0, 1), // e66 0
};
const billing15m: Values = {
  offered: c(3), // e7 e11 e15
  answered: c(1), // e8
  short_abandoned: c(1), // e12
  abandon_rate: v(0, 1), // 0 ÷ (1 + 0)
  service_level: v(100, 1), // e8 5 s
  asa: v(5, 1),
  aht: v(180, 1), // e10
  fcr: v(0, 1), // V3 no
};
// Live billing/voice: waiting V6 (offered 09:36:00 → 90 s at 09:37:30); agents a1 available, a2 busy (its late
// older state does not count), a3 acw, a4 busy, a5 offline (not counted) → occupancy (2 + 1) ÷ (1 + 2 + 1) = 75 %.
// Erlang: 4 offered in [09:08, 09:38) (e7 e11 e15 e16), which has run 29 min 30 s at 09:37:30: λ = 4 ÷ 1770 s; AHT
//   of the last hour 220 s → A = 4 ÷ 1770 × 220 = 0.4972 Erl; T 20 s, target 80 %.
//   N = 1: P(wait) = A = 0.4972, SL = 1 − 0.4972 × e^(−(1 − 0.4972) × 20 ÷ 220) = 0.525 < 0.8
//   N = 2: P(wait) = 0.0990, SL = 1 − 0.0990 × e^(−(2 − 0.4972) × 20 ÷ 220) = 0.914 ≥ 0.8 → 2 agents;
//   staffed 1 + 2 + 1 = 4 → gap 2 − 4 = −2.
const billingLive: Values = {
  waiting: c(1), longest_wait: v(90, 1),
  agents_available: c(1), agents_busy: c(2), agents_acw: c(1), agents_aux: c(0),
  occupancy: v((3 / 4) * 100, 4),
  required_agents: v(2, 4), staffing_gap: v(2 - 4, 4),
};

// ----- support (and chat: the same contacts and agents) -----
const supportToday: Values = {
  offered: c(6), // e25 e28 e31 e33 e35 e36
  answered: c(3), // e26 e29 e37
  abandoned: c(1), // e34 (30 s ≥ 10 s)
  short_abandoned: c(1), // e32 (8 s < 10 s)
  abandon_rate: v((1 / 4) * 100, 4),
  service_level: v((2 / 4) * 100, 4), // e26 45 s and e37 50 s ≤ 60 s; e29 70 s is not
  asa: v(165 / 3, 3), // (45 + 70 + 50) ÷ 3 = 55
  aht: v(1620 / 2, 2), // (600 + 1020) ÷ 2 = 810
  csat: v(100, 1), // e67 4
  ces: v((6 / 1 / 6) * 100, 1), // e63 7 → 6 points → 100
  nps: v(0, 1), // e64 8 is passive: (0 − 0) ÷ 1
  fcr: v((1 / 2) * 100, 2), // C1 no (late T5), C2 yes
};
const support1h: Values = {
  offered: c(5), // e28 e31 e33 e35 e36
  answered: c(2), // e29 e37
  abandoned: c(1), // e34
  short_abandoned: c(1), // e32
  abandon_rate: v((1 / 3) * 100, 3),
  service_level: v((1 / 3) * 100, 3), // e37
  asa: v(120 / 2, 2), // (70 + 50) ÷ 2
  aht: v(1020, 1), // e30
  csat: v(100, 1), // e67
  fcr: v(100, 1), // C2
};
const support15m: Values = {
  offered: c(4), // e31 e33 e35 e36
  answered: c(1), // e37
  abandoned: c(1), // e34
  short_abandoned: c(1), // e32
  abandon_rate: v((1 / 2) * 100, 2),
  service_level: v((1 / 2) * 100, 2), // e37
  asa: v(50, 1),
  csat: v(100, 1), // e67 at 09:25
};
// Live support/chat: waiting C5 (offered 09:37:00 → 30 s); agents a6 aux, a7 available, a8 busy → occupancy 1 ÷ 2.
// Erlang: 4 offered in the last 30 min (e31 e33 e35 e36; e28 at 09:00 is older), over the 1770 s they have run; AHT of
//   the last hour 1020 s (e30) → A = 4 ÷ 1770 × 1020 = 2.3051 Erl.
//   support (T 60 s, target 95 %): N = 5 → P(wait) 0.0988, SL = 1 − 0.0988 × e^(−(5 − 2.3051) × 60 ÷ 1020) = 0.916 < 0.95;
//                                  N = 6 → P(wait) 0.0336, SL 0.973 → 6 agents; gap 6 − 2 = 4.
//   chat (the defaults, T 20 s, target 80 %): N = 4 → SL 0.751 < 0.8; N = 5 → SL = 1 − 0.0988 × e^(−2.6949 × 20 ÷ 1020)
//                                  = 0.906 → 5 agents; gap 5 − 2 = 3.
const supportLive = (required: number): Values => ({
  waiting: c(1), longest_wait: v(30, 1),
  agents_available: c(1), agents_busy: c(1), agents_acw: c(0), agents_aux: c(1),
  occupancy: v((1 / 2) * 100, 2),
  required_agents: v(required, 4), staffing_gap: v(required - 2, 4),
});

// ----- email (queue and channel) -----
const emailToday: Values = {
  frt: v(61500 / 4, 4), // (57600 + 2700 + 540 + 660) ÷ 4 = 15375
  frt_p90: v(57600, 4), // sorted 540, 660, 2700, 57600; rank ⌈0.9 × 4⌉ = 4
  nps: v(100, 1), // e68 9
  fcr: v((1 / 2) * 100, 2), // T1 no, T2 yes
};
const email1h: Values = {
  frt: v(3900 / 3, 3), // (2700 + 540 + 660) ÷ 3 = 1300
  frt_p90: v(2700, 3), // rank ⌈2.7⌉ = 3 of 540, 660, 2700
  nps: v(100, 1),
  fcr: v(100, 1), // T2 (e47 09:05)
};
const email15m: Values = {
  frt: v(1200 / 2, 2), // (540 + 660) ÷ 2
  frt_p90: v(660, 2), // rank ⌈1.8⌉ = 2
  nps: v(100, 1), // e68 09:30
  // fcr: e43 (09:30) is T1's second solve, not a resolution → null
};

const EXPECTED: Record<string, Expected> = {
  center: {
    today: {
      offered: c(14), // billing 8 + support 6
      answered: c(8), // billing 5 + support 3
      abandoned: c(2), // e14, e34
      short_abandoned: c(2), // e12, e32
      abandon_rate: v((2 / 10) * 100, 10),
      service_level: v((5 / 10) * 100, 10), // e2 e8 e17 (≤ 20 s) + e26 e37 (≤ 60 s)
      asa: v(270 / 8, 8), // 10 + 30 + 5 + 20 + 40 + 45 + 70 + 50 = 270
      aht: v(3180 / 7, 7), // 1560 (billing) + 1620 (support)
      frt: v(61500 / 4, 4),
      frt_p90: v(57600, 4),
      csat: v((2 / 3) * 100, 3), // e58 5, e62 3, e67 4
      ces: v((7 / 2 / 6) * 100, 2), // e59 1 point + e63 6 points = 7 over 2 → 58.33
      nps: v(((2 - 1) / 4) * 100, 4), // e60 P, e64 passive, e65 D, e68 P
      fcr: v((4 / 8) * 100, 8), // V1 V2 C2 T2 yes; V3 V7 C1 T1 no
      fcr_survey: v((1 / 2) * 100, 2),
      // ivr_containment = contained ivr.ended ÷ all ivr.ended, by the end's time: e54 contained, e55 transferred,
      // e56 contained, e57 abandoned → 2 ÷ 4 (e53 is yesterday). The starts i1–i4 are no ivr.ended: n stays 4, not 4 + 4
      // = 8, and each session counts once however many of its events arrive.
      ivr_containment: v((2 / 4) * 100, 4),
    },
    '1h': {
      offered: c(11), // billing 6 + support 5
      answered: c(5), // e5 e8 e17 e29 e37
      abandoned: c(2), // e14, e34
      short_abandoned: c(2),
      abandon_rate: v((2 / 7) * 100, 7),
      service_level: v((3 / 7) * 100, 7), // e8, e17, e37
      asa: v(175 / 5, 5), // 30 + 5 + 20 + 70 + 50
      aht: v(1680 / 4, 4), // 240 + 180 + 240 + 1020 = 420
      frt: v(3900 / 3, 3),
      frt_p90: v(2700, 3),
      csat: v((1 / 2) * 100, 2), // e62 3, e67 4
      nps: v(((1 - 1) / 2) * 100, 2), // e65 D, e68 P
      fcr: v((3 / 5) * 100, 5), // V2 yes, V3 no, V7 no, C2 yes, T2 yes
      fcr_survey: v(0, 1), // e66
      ivr_containment: v((1 / 3) * 100, 3), // e55, e56, e57 (i2 at 08:37 is before the window, i3 i4 inside: neither counts)
    },
    '15m': {
      offered: c(7), // e7 e11 e15 e31 e33 e35 e36
      answered: c(2), // e8 e37
      abandoned: c(1), // e34
      short_abandoned: c(2), // e12 e32
      abandon_rate: v((1 / 3) * 100, 3),
      service_level: v((2 / 3) * 100, 3),
      asa: v(55 / 2, 2), // 5 + 50
      aht: v(180, 1), // e10
      frt: v(1200 / 2, 2),
      frt_p90: v(660, 2),
      csat: v(100, 1), // e67
      nps: v(100, 1), // e68
      fcr: v(0, 1), // V3
      ivr_containment: v((1 / 2) * 100, 2), // e56, e57 (their starts i3 at 09:22:30, i4 at 09:30:30 count nowhere)
    },
    // Waiting V6 (90 s) and C5 (30 s). Agents: available a1 a7 a9, busy a2 a4 a8, acw a3 a10, aux a6 → (3 + 2) ÷ 8.
    // Erlang: 8 offered in the last 30 min (run 1770 s), AHT last hour 420 s → A = 8 ÷ 1770 × 420 = 1.8983 Erl; T 20 s,
    //   80 %: N = 3 → P(wait) 0.3978, SL = 1 − 0.3978 × e^(−(3 − 1.8983) × 20 ÷ 420) = 0.623; N = 4 → P(wait) 0.1499,
    //   SL = 1 − 0.1499 × e^(−(4 − 1.8983) × 20 ÷ 420) = 0.864 → 4 agents; gap 4 − 8 = −4.
    live: {
      waiting: c(2), longest_wait: v(90, 2),
      agents_available: c(3), agents_busy: c(3), agents_acw: c(2), agents_aux: c(1),
      occupancy: v((5 / 8) * 100, 8),
      required_agents: v(4, 8), staffing_gap: v(4 - 8, 8),
    },
  },
  'queue:billing': { today: billingToday, '1h': billing1h, '15m': billing15m, live: billingLive },
  'channel:voice': {
    today: { ...billingToday, ivr_containment: v((2 / 4) * 100, 4) },
    '1h': { ...billing1h, ivr_containment: v((1 / 3) * 100, 3) },
    '15m': { ...billing15m, ivr_containment: v((1 / 2) * 100, 2) },
    live: billingLive,
  },
  'queue:support': { today: supportToday, '1h': support1h, '15m': support15m, live: supportLive(6) },
  'channel:chat': { today: supportToday, '1h': support1h, '15m': support15m, live: supportLive(5) },
  'queue:email': { today: emailToday, '1h': email1h, '15m': email15m, live: agentsOnly(1, 0, 1, 0) }, // a9 available, a10 acw
  'channel:email': { today: emailToday, '1h': email1h, '15m': email15m, live: agentsOnly(1, 0, 1, 0) },
  // Teams: offers and abandons carry no team, so team figures count answers, ends, replies, solves and surveys only.
  'team:red': {
    today: {
      answered: c(5), // e2 e5 e8 e17 e23
      abandon_rate: v(0, 5), // 0 ÷ (5 + 0)
      service_level: v((3 / 5) * 100, 5), // e2 e8 e17
      asa: v(105 / 5, 5),
      aht: v(1560 / 5, 5),
      csat: v(50, 2), ces: v((1 / 1 / 6) * 100, 1), nps: v(0, 2),
      fcr: v(50, 4), fcr_survey: v(50, 2),
    },
    '1h': {
      answered: c(3), // e5 e8 e17
      abandon_rate: v(0, 3),
      service_level: v((2 / 3) * 100, 3), // e8 e17
      asa: v(55 / 3, 3), aht: v(660 / 3, 3),
      csat: v(0, 1), nps: v(-100, 1), fcr: v((1 / 3) * 100, 3), fcr_survey: v(0, 1),
    },
    '15m': { answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(5, 1), aht: v(180, 1), fcr: v(0, 1) },
    live: agentsOnly(1, 2, 1, 0), // a1 available, a2 a4 busy, a3 acw, a5 offline
  },
  'team:blue': {
    today: {
      answered: c(3), // e26 e29 e37
      abandon_rate: v(0, 3),
      service_level: v((2 / 3) * 100, 3), // e26 45 s, e37 50 s ≤ 60 s (support's threshold)
      asa: v(165 / 3, 3), aht: v(1620 / 2, 2),
      frt: v(61500 / 4, 4), frt_p90: v(57600, 4),
      csat: v(100, 1), // e67
      ces: v(100, 1), // e63
      nps: v(((1 - 0) / 2) * 100, 2), // e64 passive, e68 promoter
      fcr: v((2 / 4) * 100, 4), // C1 no, C2 yes, T1 no, T2 yes
    },
    '1h': {
      answered: c(2), // e29 e37
      abandon_rate: v(0, 2),
      service_level: v(50, 2), // e37
      asa: v(60, 2), aht: v(1020, 1),
      frt: v(1300, 3), frt_p90: v(2700, 3),
      csat: v(100, 1), nps: v(100, 1),
      fcr: v(100, 2), // C2, T2
    },
    '15m': {
      answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(50, 1),
      frt: v(600, 2), frt_p90: v(660, 2), csat: v(100, 1), nps: v(100, 1),
    },
    live: agentsOnly(2, 1, 1, 1), // a7 a9 available, a8 busy, a10 acw, a6 aux → occupancy 2 ÷ 4
  },
  'agent:a1': {
    today: {
      answered: c(2), // e2 10 s, e17 20 s
      abandon_rate: v(0, 2), service_level: v(100, 2), asa: v(30 / 2, 2),
      aht: v(540 / 2, 2), // 300 + 240
      csat: v(100, 1), ces: v((1 / 1 / 6) * 100, 1), nps: v(0, 2), // e60 P, e65 D
      fcr: v(50, 2), // V1 yes, V7 no
      fcr_survey: v(50, 2),
    },
    '1h': {
      answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(20, 1), aht: v(240, 1),
      nps: v(-100, 1), fcr: v(0, 1), fcr_survey: v(0, 1),
    },
    '15m': {},
    live: agentsOnly(1, 0, 0, 0),
  },
  'agent:a2': {
    // e5 (wait 30 s once the late offer arrived), e6 240 s, e62 csat 3; e20/e21/e69 are yesterday
    today: { answered: c(1), abandon_rate: v(0, 1), service_level: v(0, 1), asa: v(30, 1), aht: v(240, 1), csat: v(0, 1), fcr: v(100, 1) },
    '1h': { answered: c(1), abandon_rate: v(0, 1), service_level: v(0, 1), asa: v(30, 1), aht: v(240, 1), csat: v(0, 1), fcr: v(100, 1) },
    '15m': {},
    live: agentsOnly(0, 1, 0, 0),
  },
  'agent:a3': {
    // e8 (5 s); the transfer e9 counts nowhere; V3's end is a4's
    today: { answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(5, 1) },
    '1h': { answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(5, 1) },
    '15m': { answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(5, 1) },
    live: agentsOnly(0, 0, 1, 0),
  },
  'agent:a4': {
    today: { aht: v(180, 1), fcr: v(0, 1) }, // e10
    '1h': { aht: v(180, 1), fcr: v(0, 1) },
    '15m': { aht: v(180, 1), fcr: v(0, 1) },
    live: agentsOnly(0, 1, 0, 0),
  },
  'agent:a5': {
    // e23 (40 s) and e24 (600 s, not resolved), both early today local time
    today: { answered: c(1), abandon_rate: v(0, 1), service_level: v(0, 1), asa: v(40, 1), aht: v(600, 1) },
    '1h': {},
    '15m': {},
    live: agentsOnly(0, 0, 0, 0), // offline: not counted
  },
  'agent:a6': {
    today: {
      answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(45, 1), aht: v(600, 1),
      ces: v(100, 1), nps: v(0, 1), fcr: v(0, 1),
    },
    '1h': {},
    '15m': {},
    live: agentsOnly(0, 0, 0, 1), // aux: not in occupancy
  },
  'agent:a7': {
    today: { answered: c(1), abandon_rate: v(0, 1), service_level: v(0, 1), asa: v(70, 1), aht: v(1020, 1), csat: v(100, 1), fcr: v(100, 1) },
    '1h': { answered: c(1), abandon_rate: v(0, 1), service_level: v(0, 1), asa: v(70, 1), aht: v(1020, 1), csat: v(100, 1), fcr: v(100, 1) },
    '15m': { csat: v(100, 1) }, // e67 at 09:25
    live: agentsOnly(1, 0, 0, 0),
  },
  'agent:a8': {
    today: { answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(50, 1) },
    '1h': { answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(50, 1) },
    '15m': { answered: c(1), abandon_rate: v(0, 1), service_level: v(100, 1), asa: v(50, 1) },
    live: agentsOnly(0, 1, 0, 0),
  },
  'agent:a9': {
    // first replies e40 (57600 s) and e49 (540 s); e39 is private; e41 T1's first solve (reopened), e43 a second solve
    today: { frt: v(58140 / 2, 2), frt_p90: v(57600, 2), fcr: v(0, 1) },
    '1h': { frt: v(540, 1), frt_p90: v(540, 1) },
    '15m': { frt: v(540, 1), frt_p90: v(540, 1) },
    live: agentsOnly(1, 0, 0, 0),
  },
  'agent:a10': {
    // first replies e45 (2700 s) and e51 (660 s); e46 is not a first reply; e47 solves T2 (yes); e68 nps 9
    today: { frt: v(3360 / 2, 2), frt_p90: v(2700, 2), nps: v(100, 1), fcr: v(100, 1) },
    '1h': { frt: v(3360 / 2, 2), frt_p90: v(2700, 2), nps: v(100, 1), fcr: v(100, 1) },
    '15m': { frt: v(660, 1), frt_p90: v(660, 1), nps: v(100, 1) },
    live: agentsOnly(0, 0, 1, 0),
  },
};

/** Every key of the catalog: the given value, else 0 for a count and null (n 0) for a ratio or mean. */
function full(values: Values): Record<KpiKey, KpiValue> {
  return Object.fromEntries(
    KPI_CATALOG.map((d) => [d.key, values[d.key] ?? (d.nullable ? v(null, 0) : c(0))]),
  ) as Record<KpiKey, KpiValue>;
}

function expectValues(actual: Record<KpiKey, KpiValue>, expected: Record<KpiKey, KpiValue>, where: string): void {
  expect(Object.keys(actual)).toEqual(KPI_CATALOG.map((d) => d.key));
  for (const d of KPI_CATALOG) {
    const a = actual[d.key];
    const e = expected[d.key];
    expect(a.n, `${where} ${d.key}.n`).toBe(e.n);
    if (e.value === null) expect(a.value, `${where} ${d.key}`).toBeNull();
    else {
      expect(a.value, `${where} ${d.key}`).not.toBeNull();
      expect(a.value!, `${where} ${d.key}`).toBeCloseTo(e.value, 9);
    }
  }
}

function find(snaps: Snapshot[], window: string, scope: string): Snapshot {
  const s = snaps.find((x) => x.window === window && x.scope === scope);
  if (!s) throw new Error(`no snapshot for ${window} ${scope}`);
  return s;
}

const LOOKBACK = { lookbackDays: 7 };
const compute = (ctx: TestContext, scopes?: string[]) =>
  computeSnapshots(ctx.clickhouse, { now: NOW, tz: TZ, waitingLookbackHours: 24, ...(scopes ? { scopes } : {}) });

// ----- the senders: the scenario through POST /v1/events -----
const KEYS: Record<Source, string> = { acd: 'golden-acd-key-0123456789', ivr: 'golden-ivr-key-0123456789', crm: 'golden-crm-key-0123456789' };
const INGEST_KEYS = Object.entries(KEYS).map(([source, key]) => `${source}:${key}`).join(',');

/** Every event of the scenario, each once: what `events` must hold in the end. */
const ALL_EVENTS: readonly ScenarioEvent[] = [...MAIN_EVENTS, ...IVR_STARTS, ...LATE_EVENTS];
const ids = (rows: readonly ScenarioEvent[], source: Source) => rows.filter((x) => x.source === source).map((x) => x.id);

/** The offsets the senders write times in, taken in turn: UTC, Istanbul, New York (EST), India. */
const OFFSETS = ['Z', '+03:00', '-05:00', '+05:30'] as const;
/** Events near the center's midnight, written where their date reads otherwise than in Istanbul. */
const PINNED: Record<string, string> = {
  e19: '+03:00', // 2025-03-09T23:30:00.000+03:00: 23:30 on the 9th in Istanbul → yesterday
  e22: '-05:00', // 2025-03-09T17:30:00.000-05:00: the 9th in New York, but 01:30 on the 10th in Istanbul → today
  e53: '+05:30', // 2025-03-10T01:30:00.000+05:30: the 10th in India, but 23:00 on the 9th in Istanbul → yesterday
};
/** An event as its sender writes it. A re-send (`again`) writes the same instant in the next offset. */
function wire(id: string, again = false): IngestEvent {
  const i = ALL_EVENTS.findIndex((x) => x.id === id);
  if (i < 0) throw new Error(`no event ${id} in the scenario`);
  const offset = (!again && PINNED[id]) || OFFSETS[(i + (again ? 1 : 0)) % OFFSETS.length]!;
  return toIngestEvent(ALL_EVENTS[i]!, offset);
}

/** Posts events as one JSON array, as NDJSON, or as a single JSON object; anything but 202 stops the test. */
async function send(app: FastifyInstance, source: Source, events: IngestEvent[], format: 'array' | 'ndjson' | 'single'): Promise<WriteResult> {
  if (format === 'single' && events.length !== 1) throw new Error('a single-event post carries one event');
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { authorization: `Bearer ${KEYS[source]}`, 'content-type': format === 'ndjson' ? 'application/x-ndjson' : 'application/json' },
    payload: format === 'ndjson' ? events.map((x) => `${JSON.stringify(x)}\n`).join('') : JSON.stringify(format === 'single' ? events[0] : events),
  });
  if (res.statusCode !== 202) throw new Error(`${source} ${format}: ${res.statusCode} ${res.body}`);
  return res.json<WriteResult>();
}

/** What each request answered. */
type Answers = Record<string, WriteResult | WriteResult[]>;
const byAccepted = (rs: WriteResult[]) => [...rs].sort((a, b) => a.accepted - b.accepted);

/** MAIN_EVENTS and IVR_STARTS, through `app`; `second` is another API process on the same ClickHouse and Redis. */
async function sendMain(app: FastifyInstance, second: FastifyInstance): Promise<Answers> {
  const answers: Answers = {};
  // ACD: two JSON arrays; the first carries e8 twice. e15 is posted concurrently below.
  const acd = ids(MAIN_EVENTS, 'acd').filter((id) => id !== 'e15');
  const half = Math.ceil(acd.length / 2);
  answers.acdFirst = await send(app, 'acd', [...acd.slice(0, half).map((id) => wire(id)), wire('e8')], 'array');
  answers.acdSecond = await send(app, 'acd', acd.slice(half).map((id) => wire(id)), 'array');
  // CRM: one NDJSON body, e47's line twice.
  const crm = ids(MAIN_EVENTS, 'crm').flatMap((id) => (id === 'e47' ? [id, id] : [id]));
  answers.crm = await send(app, 'crm', crm.map((id) => wire(id)), 'ndjson');
  // IVR: one event per request, in time order (each start before its end). e56 is posted concurrently below.
  const ivr = [...MAIN_EVENTS, ...IVR_STARTS].filter((x) => x.source === 'ivr' && x.id !== 'e56');
  ivr.sort((a, b) => a.occurred_at.localeCompare(b.occurred_at));
  answers.ivr = [];
  for (const x of ivr) answers.ivr.push(await send(app, 'ivr', [wire(x.id)], 'single'));
  // The same event posted twice at once: e56 to one API process, e15 to two.
  answers.ivrConcurrent = await Promise.all([send(app, 'ivr', [wire('e56')], 'single'), send(app, 'ivr', [wire('e56')], 'single')]);
  answers.acdConcurrent = await Promise.all([send(app, 'acd', [wire('e15')], 'array'), send(second, 'acd', [wire('e15')], 'array')]);
  // Re-sent later in another request, in other offsets, before any worker pass (the ids are only in `events`).
  answers.acdAgain = await send(app, 'acd', [wire('e2', true), wire('e14', true)], 'array');
  return answers;
}

/** LATE_EVENTS after a worker pass, each source's with a re-send of an event already fanned out (in `event_ids`). */
async function sendLate(app: FastifyInstance): Promise<Answers> {
  return {
    acd: await send(app, 'acd', [...ids(LATE_EVENTS, 'acd').map((id) => wire(id)), wire('e3', true), wire('e15', true)], 'array'),
    crm: await send(app, 'crm', [wire('e45', true), ...ids(LATE_EVENTS, 'crm').map((id) => wire(id))], 'ndjson'),
    ivr: await send(app, 'ivr', [wire('e57', true)], 'single'),
  };
}

describe('KPI golden scenario (Europe/Istanbul)', () => {
  let ctx: TestContext;
  let redis: Redis;
  let app: FastifyInstance;
  let second: FastifyInstance;
  let before: Snapshot[];
  let after: Snapshot[];
  let mainAnswers: Answers;
  let lateAnswers: Answers;

  beforeAll(async () => {
    ctx = await createTestContext({ CENTER_TZ: TZ, INGEST_KEYS });
    await syncDefaultQueueSettings(ctx.clickhouse, ctx.config);
    await setQueueSettings(ctx.clickhouse, 'support', SUPPORT_SETTINGS);
    redis = createRedis(ctx.config.REDIS_URL!, 'commands');
    if (redis.status !== 'ready') await once(redis, 'ready');
    // The API's clock says the scenario's NOW: ingest checks the events' times against it (400 days back, 5 min ahead).
    const api = () => buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent', now: () => NOW });
    app = await api();
    second = await api();
    mainAnswers = await sendMain(app, second);
    await materializeMeasures(ctx.clickhouse, LOOKBACK);
    before = await compute(ctx);
    lateAnswers = await sendLate(app);
    await materializeMeasures(ctx.clickhouse, LOOKBACK);
    after = await compute(ctx);
  });
  afterAll(async () => {
    await app?.close();
    await second?.close();
    redis?.disconnect();
    await ctx?.cleanup();
  });

  it('accepts each event once: a repeat in a batch, a concurrent post and a later re-send answer as duplicates', () => {
    // ACD: 48 main events (e1–e37 but e4, s1–s12) less e15 = 47; the first array has ⌈47 ÷ 2⌉ = 24 and e8 again.
    expect(mainAnswers.acdFirst).toEqual({ accepted: 24, duplicates: 1 });
    expect(mainAnswers.acdSecond).toEqual({ accepted: 23, duplicates: 0 });
    // CRM: e38–e51 and e58–e69 = 14 + 12 = 26 events, and e47's second line.
    expect(mainAnswers.crm).toEqual({ accepted: 26, duplicates: 1 });
    // IVR: e53–e57 and i0–i4 less e56 = 9 requests of one event each.
    expect(mainAnswers.ivr).toEqual(Array.from({ length: 9 }, () => ({ accepted: 1, duplicates: 0 })));
    // Posted twice at once (to one API process, and to two): one is stored, the other is a duplicate.
    expect(byAccepted(mainAnswers.ivrConcurrent as WriteResult[])).toEqual([{ accepted: 0, duplicates: 1 }, { accepted: 1, duplicates: 0 }]);
    expect(byAccepted(mainAnswers.acdConcurrent as WriteResult[])).toEqual([{ accepted: 0, duplicates: 1 }, { accepted: 1, duplicates: 0 }]);
    expect(mainAnswers.acdAgain).toEqual({ accepted: 0, duplicates: 2 }); // e2, e14
    // Late, after a worker pass: e4 s13 new, e3 e15 again; e52 new, e45 again; e57 again.
    expect(lateAnswers).toEqual({
      acd: { accepted: 2, duplicates: 2 },
      crm: { accepted: 1, duplicates: 1 },
      ivr: { accepted: 0, duplicates: 1 },
    });
    // 24 + 23 + 26 + 9 + 1 + 1 + 2 + 1 = 87 = 79 main + 5 IVR starts + 3 late events.
    expect(ALL_EVENTS).toHaveLength(87);
  });

  it('stores each event once, its time in UTC whatever the offset it was sent in: the rows of the scenario', async () => {
    const rs = await ctx.clickhouse.query({ query: 'SELECT * EXCEPT (occurred_at, received_at), toString(occurred_at) AS occurred_at FROM events', format: 'JSONEachRow' });
    const stored = await rs.json<Omit<ScenarioEvent, 'received_at'>>();
    const sorted = <T extends { source: string; id: string }>(xs: T[]) =>
      [...xs].sort((a, b) => a.source.localeCompare(b.source) || a.id.localeCompare(b.id));
    expect(sorted(stored)).toEqual(sorted(ALL_EVENTS.map(({ received_at: _, ...row }) => row)));
  });

  it('has a snapshot for every active scope and window, and nothing else', () => {
    const scopes = [...new Set(after.map((s) => s.scope))].sort();
    expect(scopes).toEqual(Object.keys(EXPECTED).sort());
    expect(after).toHaveLength(Object.keys(EXPECTED).length * 3);
    expect(after.every((s) => s.asOf === '2025-03-10T09:37:30.000Z')).toBe(true);
  });

  for (const [scope, exp] of Object.entries(EXPECTED)) {
    for (const window of ['today', '1h', '15m'] as const) {
      it(`${scope} ${window}: every KPI as computed by hand`, () => {
        expectValues(find(after, window, scope).values, full({ ...exp[window], ...exp.live }), `${scope} ${window}`);
      });
    }
  }

  it('before the late events: V2\'s answer waits for its offer, which is not counted yet, C1 was a first contact', () => {
    const center = find(before, 'today', 'center').values;
    expect(center.offered).toEqual(c(13)); // e4 missing
    expect(center.asa.n).toBe(7); // the 7 answers with a known offer
    expect(center.asa.value).toBeCloseTo(240 / 7, 9); // 270 − 30 (V2)
    // e5 answers no offer yet (e4 is late): not an answered contact until it arrives, so 9 answered + abandoned, not 10
    expect(center.service_level.n).toBe(9);
    expect(center.answered).toEqual(c(7));
    expect(center.fcr.value).toBeCloseTo((5 / 8) * 100, 9); // C1 yes until cu6's earlier ticket shows up
    expect(find(before, 'today', 'agent:a2').values.asa).toEqual(v(null, 0));
    expect(find(before, 'today', 'agent:a2').values.agents_busy).toEqual(c(1));
  });

  it('a requested scope without data gets zeros and nulls, never NaN', async () => {
    const snaps = await compute(ctx, ['queue:nobody']);
    expect(snaps.map((s) => s.window)).toEqual(['today', '1h', '15m']);
    for (const s of snaps) {
      expect(s.scope).toBe('queue:nobody');
      expectValues(s.values, full({ required_agents: v(0, 0), staffing_gap: v(0, 0) }), 'queue:nobody');
    }
  });

  it('materialising again, or rebuilding from scratch, changes nothing (no double counting)', async () => {
    await materializeMeasures(ctx.clickhouse, LOOKBACK);
    await rebuildMeasures(ctx.clickhouse, LOOKBACK);
    const again = await compute(ctx);
    expect(again).toEqual(after);
  });

  it('the 15-minute series for today adds up to the today window', async () => {
    const [series] = await computeSeries(ctx.clickhouse, { now: NOW, tz: TZ, scopes: ['center'] });
    // Local midnight (21:00 UTC) to 09:38 UTC: 12 h 38 min → 50 full intervals and the open one (09:30–09:38).
    expect(series!.points).toHaveLength(51);
    expect(series!.points[0]!.start).toBe('2025-03-09T21:00:00.000Z');
    expect(series!.points.at(-1)).toMatchObject({ start: '2025-03-10T09:30:00.000Z', end: '2025-03-10T09:38:00.000Z' });
    const sum = (k: KpiKey) => series!.points.reduce((acc, p) => acc + (p.values[k]!.value ?? 0), 0);
    expect(sum('offered')).toBe(14);
    expect(sum('answered')).toBe(8);
    expect(sum('abandoned')).toBe(2);
    // 09:30–09:38: offered e11 e15 e35; V3 ended e10 (180 s); e12 short abandon; e56 contained, e57 not (i4, the start of
    // I4 at 09:30:30, is no ivr.ended: n stays 2)
    const last = series!.points.at(-1)!.values;
    expect(last.offered).toEqual(c(3));
    expect(last.aht).toEqual(v(180, 1));
    expect(last.short_abandoned).toEqual(c(1));
    expect(last.ivr_containment).toEqual(v(50, 2));
  });
});

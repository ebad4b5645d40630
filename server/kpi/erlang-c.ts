// Erlang C (M/M/N queue): probability of waiting, service level, ASA and the agents required for a target.
// Computed through the Erlang B recursion, which stays numerically stable for hundreds of agents
// (A^N / N! overflows a double from N ≈ 170 on).

export interface ErlangInput {
  /** Arrival rate, contacts per second. */
  lambdaPerSecond: number;
  /** Average handle time, seconds. */
  ahtSeconds: number;
}

export interface ErlangResult {
  agents: number;
  /** Offered traffic A = λ × AHT, in Erlangs. */
  trafficErlangs: number;
  /** Probability that a contact waits (Erlang C). */
  probabilityWaiting: number;
  /** Fraction answered within the threshold, 0..1. */
  serviceLevel: number;
  /** Average speed of answer, seconds. */
  asaSeconds: number;
  /** A ÷ N, 0..1. */
  occupancy: number;
}

/** Erlang C probability of waiting with `agents` agents and `traffic` Erlangs; 1 when agents ≤ traffic. */
export function erlangC(agents: number, traffic: number): number {
  if (!Number.isInteger(agents) || agents < 0) throw new RangeError(`agents must be a non-negative integer, got ${agents}`);
  if (!(traffic >= 0) || !Number.isFinite(traffic)) throw new RangeError(`traffic must be a finite number ≥ 0, got ${traffic}`);
  if (traffic === 0) return 0;
  if (agents <= traffic) return 1;
  let b = 1; // Erlang B with 0 agents
  for (let k = 1; k <= agents; k++) b = (traffic * b) / (k + traffic * b);
  return (agents * b) / (agents - traffic * (1 - b));
}

/** Every figure of an M/M/N queue with `agents` agents; `thresholdSeconds` is the service-level T. */
export function erlangFigures(agents: number, input: ErlangInput, thresholdSeconds: number): ErlangResult {
  const { lambdaPerSecond: lambda, ahtSeconds: aht } = input;
  const traffic = lambda * aht;
  const pw = erlangC(agents, traffic);
  if (traffic === 0) {
    return { agents, trafficErlangs: 0, probabilityWaiting: 0, serviceLevel: 1, asaSeconds: 0, occupancy: 0 };
  }
  if (agents <= traffic) {
    return { agents, trafficErlangs: traffic, probabilityWaiting: 1, serviceLevel: 0, asaSeconds: Infinity, occupancy: 1 };
  }
  const serviceLevel = 1 - pw * Math.exp((-(agents - traffic) * thresholdSeconds) / aht);
  return {
    agents,
    trafficErlangs: traffic,
    probabilityWaiting: pw,
    serviceLevel,
    asaSeconds: (pw * aht) / (agents - traffic),
    occupancy: traffic / agents,
  };
}

/** Upper bound on the search; far above any single center's need, it only guards against absurd inputs. */
export const MAX_AGENTS = 100_000;

/**
 * The smallest number of agents whose service level within `thresholdSeconds` reaches `target` (0..1).
 * 0 when there is no traffic.
 */
export function requiredAgents(input: ErlangInput, thresholdSeconds: number, target: number): ErlangResult {
  const { lambdaPerSecond: lambda, ahtSeconds: aht } = input;
  if (!(lambda >= 0) || !(aht >= 0) || !Number.isFinite(lambda) || !Number.isFinite(aht)) {
    throw new RangeError(`λ and AHT must be finite and ≥ 0 (got λ=${lambda}, AHT=${aht})`);
  }
  if (!(target > 0 && target < 1)) throw new RangeError(`target must be between 0 and 1 exclusive, got ${target}`);
  const traffic = lambda * aht;
  if (traffic === 0) return erlangFigures(0, input, thresholdSeconds);
  for (let n = Math.max(1, Math.floor(traffic) + 1); n <= MAX_AGENTS; n++) {
    const r = erlangFigures(n, input, thresholdSeconds);
    if (r.serviceLevel >= target) return r;
  }
  throw new RangeError(`more than ${MAX_AGENTS} agents would be needed (traffic ${traffic} Erlangs)`);
}

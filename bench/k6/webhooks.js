// Replicate webhook load for credits_bench.py (--only webhooks): constant VUs, one POST in
// flight per VU, each a new webhook signed here as Standard Webhooks / Replicate sign it.
//
// Every request carries a webhook-id never sent before (the gateway deduplicates on it),
// the current unix time in webhook-timestamp, and webhook-signature "v1,<base64 HMAC-SHA256
// of '{id}.{timestamp}.{body}'>" keyed with the base64-decoded part after "whsec_". The
// body is a prediction in Replicate's shape, status "processing", for one of TARGETS_FILE's
// {generation_id, prediction_id} pairs (?generation_id=... in the URL, as the generation
// service asks Replicate to call back). Each VU owns the targets whose index is congruent
// to its own, so the logs of a prediction grow by one tqdm line per update, in order: each
// update is news to the generation service (progress and logs change), none is stale.
//
// One scenario, so a VU keeps its targets and counters throughout: iterations starting in
// the first WARMUP_S seconds are tagged phase=warmup and left out; the rest are "measure".
// 2xx counts as ok, anything else (or no answer) as an error; an ok answer whose outcome
// is "applied" is counted in webhooks_applied as well.
//
// Inputs (k6 -e NAME=value): URL (.../api/webhooks/replicate), SECRET (whsec_...),
// TARGETS_FILE, RUN_ID, VUS, WARMUP_S, MEASURE_S, SUMMARY_FILE; PREFLIGHT=1 sends a single
// webhook (empty logs) instead.
import http from 'k6/http';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { SharedArray } from 'k6/data';

const targets = new SharedArray('targets', () => JSON.parse(open(__ENV.TARGETS_FILE)));
const okCount = new Counter('webhooks_ok');
const errorCount = new Counter('webhooks_errors');
const appliedCount = new Counter('webhooks_applied');
const KEY = encoding.b64decode(__ENV.SECRET.replace(/^whsec_/, '')); // an ArrayBuffer
const VUS = parseInt(__ENV.VUS, 10);
const WARMUP_MS = 1000 * parseInt(__ENV.WARMUP_S, 10);
const PREFLIGHT = __ENV.PREFLIGHT === '1';

export const options = {
  scenarios: PREFLIGHT
    ? { preflight: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } }
    : {
      run: {
        executor: 'constant-vus', vus: VUS, gracefulStop: '10s',
        duration: `${parseInt(__ENV.WARMUP_S, 10) + parseInt(__ENV.MEASURE_S, 10)}s`,
      },
    },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
  // Always-true thresholds: their only job is to make k6 track the sub-metrics.
  thresholds: {
    'http_req_duration{phase:measure}': ['max>=0'],
    'webhooks_ok{phase:measure}': ['count>=0'],
    'webhooks_errors{phase:measure}': ['count>=0'],
    'webhooks_applied{phase:measure}': ['count>=0'],
  },
};

export function setup() {
  return { t0: Date.now() };
}

// Per VU (init-context globals are not shared between VUs): its targets, their logs.
let owned = null;
let turn = 0;
let errorsLogged = 0;

function ownTargets() {
  const mine = [];
  const vu = (exec.vu.idInTest - 1) % Math.max(1, Math.min(VUS, targets.length));
  for (let i = vu; i < targets.length; i += VUS) {
    mine.push({ target: targets[i], updates: 0, logs: '' });
  }
  return mine;
}

function tqdmLine(step) {
  const pct = Math.min(step, 99);
  const bar = '#'.repeat(Math.floor(pct / 10)).padEnd(10, ' ');
  return `${String(pct).padStart(3, ' ')}%|${bar}| ${step}/100 [00:${String(step % 60)
    .padStart(2, '0')}<01:40, 1.02s/it]\n`;
}

function prediction(target, logs) {
  return JSON.stringify({
    id: target.prediction_id,
    model: 'wavespeedai/wan-2.1-t2v-480p',
    version: 'bench',
    status: 'processing',
    input: { prompt: 'a red fox running through fresh snow', num_frames: 81 },
    logs,
    output: null,
    error: null,
    created_at: target.created_at,
    started_at: target.created_at,
    urls: {
      get: `https://api.replicate.com/v1/predictions/${target.prediction_id}`,
      cancel: `https://api.replicate.com/v1/predictions/${target.prediction_id}/cancel`,
    },
    metrics: {},
  });
}

export default function (data) {
  if (owned === null) owned = ownTargets();
  const slot = owned[turn % owned.length];
  turn += 1;
  if (!PREFLIGHT) {
    slot.updates += 1;
    slot.logs += tqdmLine(slot.updates);
  }
  const body = prediction(slot.target, PREFLIGHT ? '' : slot.logs);
  const id = `msg_${__ENV.RUN_ID}_${exec.vu.idInTest}_${exec.vu.iterationInInstance}`;
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const signature = crypto.hmac('sha256', KEY, `${id}.${timestamp}.${body}`, 'base64');
  const phase = Date.now() - data.t0 < WARMUP_MS ? 'warmup' : 'measure';
  const response = http.post(
    `${__ENV.URL}?generation_id=${slot.target.generation_id}`, body, {
      headers: {
        'Content-Type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': `v1,${signature}`,
      },
      tags: { phase },
      timeout: '20s',
    });
  if (response.status >= 200 && response.status < 300) {
    okCount.add(1, { phase });
    if (String(response.body).includes('"outcome": "applied"')) appliedCount.add(1, { phase });
    return;
  }
  errorCount.add(1, { phase });
  if (errorsLogged < 3) {
    errorsLogged += 1;
    console.error(`webhook failed: status=${response.status} error=${response.error} ` +
      `body=${String(response.body).slice(0, 200)}`);
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}

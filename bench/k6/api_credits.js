// API gateway load for credits_bench.py (--only api): constant VUs, one GET
// /api/users/credits in flight per VU, each VU as one of TOKENS_FILE's users (a JSON list
// of HS256 user JWTs). Iterations starting in the first WARMUP_S seconds are tagged
// phase=warmup and left out; 200 counts as ok, anything else (or no answer) as an error.
//
// Inputs (k6 -e NAME=value): URL (the gateway's base URL), TOKENS_FILE, VUS, WARMUP_S,
// MEASURE_S, SUMMARY_FILE.
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { SharedArray } from 'k6/data';

const tokens = new SharedArray('tokens', () => JSON.parse(open(__ENV.TOKENS_FILE)));
const okCount = new Counter('api_ok');
const errorCount = new Counter('api_errors');
const WARMUP_MS = 1000 * parseInt(__ENV.WARMUP_S, 10);
let errorsLogged = 0;

export const options = {
  scenarios: {
    run: {
      executor: 'constant-vus', vus: parseInt(__ENV.VUS, 10), gracefulStop: '10s',
      duration: `${parseInt(__ENV.WARMUP_S, 10) + parseInt(__ENV.MEASURE_S, 10)}s`,
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
  // Always-true thresholds: their only job is to make k6 track the sub-metrics.
  thresholds: {
    'http_req_duration{phase:measure}': ['max>=0'],
    'api_ok{phase:measure}': ['count>=0'],
    'api_errors{phase:measure}': ['count>=0'],
  },
};

export function setup() {
  return { t0: Date.now() };
}

export default function (data) {
  const token = tokens[(exec.vu.idInTest - 1) % tokens.length];
  const phase = Date.now() - data.t0 < WARMUP_MS ? 'warmup' : 'measure';
  const response = http.get(`${__ENV.URL}/api/users/credits`, {
    headers: { Authorization: `Bearer ${token}` },
    tags: { phase },
  });
  if (response.status === 200) {
    okCount.add(1, { phase });
  } else {
    errorCount.add(1, { phase });
    if (errorsLogged < 5) {
      errorsLogged += 1;
      console.error(`api failed: ${response.status} ${String(response.body).slice(0, 200)}`);
    }
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}

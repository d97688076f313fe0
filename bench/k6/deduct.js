// Deduct load for credits_bench.py: constant VUs, one request in flight per VU.
//
// A short "warmup" scenario runs first and is left out of the numbers (connections,
// reflection and the server's first requests); only the "measure" scenario is reported,
// through sub-metrics that the thresholds below make k6 keep.
//
// Inputs (k6 -e NAME=value): ADDR, TOKEN, USERS_FILE (JSON list of user ids), RUN_ID,
// VUS, WARMUP_S, MEASURE_S, SUMMARY_FILE, and PROTO_DIR to load the .proto files instead
// of asking the server by reflection.
import grpc from 'k6/net/grpc';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { SharedArray } from 'k6/data';

const DEDUCT = 'videogen.credits.v1.CreditsService/Deduct';
const users = new SharedArray('users', () => JSON.parse(open(__ENV.USERS_FILE)));
const okCount = new Counter('deduct_ok');
const errorCount = new Counter('deduct_errors');
const client = new grpc.Client();
if (__ENV.PROTO_DIR) {
  client.load([__ENV.PROTO_DIR], 'videogen/credits/v1/credits.proto');
}

const vus = parseInt(__ENV.VUS, 10);
const scenarios = {
  measure: {
    executor: 'constant-vus', vus, duration: `${__ENV.MEASURE_S}s`,
    startTime: `${__ENV.WARMUP_S}s`, gracefulStop: '10s',
  },
};
if (parseInt(__ENV.WARMUP_S, 10) > 0) { // k6 refuses a 0 s scenario
  scenarios.warmup = {
    executor: 'constant-vus', vus, duration: `${__ENV.WARMUP_S}s`, gracefulStop: '0s',
  };
}
export const options = {
  scenarios,
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
  // Always-true thresholds: their only job is to make k6 track the sub-metrics.
  thresholds: {
    'grpc_req_duration{scenario:measure}': ['max>=0'],
    'deduct_ok{scenario:measure}': ['count>=0'],
    'deduct_errors{scenario:measure}': ['count>=0'],
  },
};

const params = {
  metadata: { authorization: `Bearer ${__ENV.TOKEN}` },
  timeout: '10s',
};
let connected = false; // per VU: init-context globals are not shared between VUs
let errorsLogged = 0;

export default function () {
  if (!connected) {
    client.connect(__ENV.ADDR, { plaintext: true, reflect: !__ENV.PROTO_DIR, timeout: '10s' });
    connected = true;
  }
  // Unique per request across the whole run: the VU's id and its own iteration count.
  const id = `${__ENV.RUN_ID}-${exec.vu.idInTest}-${exec.vu.iterationInInstance}`;
  const response = client.invoke(DEDUCT, {
    user_id: users[Math.floor(Math.random() * users.length)],
    amount: 1,
    reference: `bench-${id}`,
    idempotency_key: `key-${id}`,
    description: 'benchmark',
  }, params);
  if (response && response.status === grpc.StatusOK) {
    okCount.add(1);
    return;
  }
  errorCount.add(1);
  if (errorsLogged < 3) {
    errorsLogged += 1;
    console.error(`deduct failed: status=${response && response.status} ` +
      `error=${JSON.stringify(response && response.error)}`);
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}

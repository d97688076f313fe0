// gRPC load for credits_bench.py: constant VUs, one request in flight per VU.
//
// KIND picks the call: "deduct" (credits Deduct of 1 on a random pre-funded user) or
// "create" (generation CreateGeneration, t2v-14B at 480p for 5 s: each request writes a
// row, charges it through credits and submits it to the Replicate emulator).
// A short "warmup" scenario runs first and is left out of the numbers (connections,
// reflection and the server's first requests); only the "measure" scenario is reported,
// through sub-metrics that the thresholds below make k6 keep.
//
// Inputs (k6 -e NAME=value): KIND, ADDR, TOKEN, USERS_FILE (JSON list of user ids),
// RUN_ID, VUS, WARMUP_S, MEASURE_S, SUMMARY_FILE, and PROTO_DIR to load the .proto files
// instead of asking the server by reflection.
import grpc from 'k6/net/grpc';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { SharedArray } from 'k6/data';

const KINDS = {
  deduct: {
    method: 'videogen.credits.v1.CreditsService/Deduct',
    proto: 'videogen/credits/v1/credits.proto',
    timeout: '10s',
    request: (user, id) => ({
      user_id: user, amount: 1, reference: `bench-${id}`, idempotency_key: `key-${id}`,
      description: 'benchmark',
    }),
  },
  create: {
    method: 'videogen.generation.v1.GenerationService/CreateGeneration',
    proto: 'videogen/generation/v1/generation.proto',
    timeout: '20s',
    request: (user, id) => ({
      user_id: user, idempotency_key: `gen-${id}`, model: 't2v-14B', resolution: '480p',
      prompt: `a red fox running through fresh snow, take ${id}`, duration_s: 5,
    }),
  },
};
const kind = __ENV.KIND;
const call = KINDS[kind];
const users = new SharedArray('users', () => JSON.parse(open(__ENV.USERS_FILE)));
const okCount = new Counter(`${kind}_ok`);
const errorCount = new Counter(`${kind}_errors`);
const client = new grpc.Client();
if (__ENV.PROTO_DIR) {
  client.load([__ENV.PROTO_DIR], call.proto);
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
    [`${kind}_ok{scenario:measure}`]: ['count>=0'],
    [`${kind}_errors{scenario:measure}`]: ['count>=0'],
  },
};

const params = {
  metadata: { authorization: `Bearer ${__ENV.TOKEN}` },
  timeout: call.timeout,
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
  const user = users[Math.floor(Math.random() * users.length)];
  const response = client.invoke(call.method, call.request(user, id), params);
  if (response && response.status === grpc.StatusOK) {
    okCount.add(1);
    return;
  }
  errorCount.add(1);
  if (errorsLogged < 3) {
    errorsLogged += 1;
    console.error(`${kind} failed: status=${response && response.status} ` +
      `error=${JSON.stringify(response && response.error)}`);
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}

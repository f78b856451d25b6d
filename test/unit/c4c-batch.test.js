'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { buildBatchRequest, parseBatchResponse, batchResults, splitMultipart, boundaryOf, buildOrFilters, matchByValue } = require('../../dist/lib/c4c/batch');
const { odataString } = require('../../dist/lib/c4c/odata');
const { parseBatchRequest, answerBatch } = require('../../dist/sandbox/c4c-batch');

const sample = fs.readFileSync(path.join(__dirname, '../fixtures/c4c/batch.sample.txt'), 'utf8');
const section = (title) => {
  const start = sample.indexOf(`===== ${title} =====`);
  const from = sample.indexOf('\n', start) + 1;
  const end = sample.indexOf('=====', from);
  return sample.slice(from, end < 0 ? undefined : end);
};

describe('OData $batch wire format', () => {
  it('parses the C4C guide\'s real $batch answer: a read (200) and a changeset (204, 201 + location)', () => {
    const items = parseBatchResponse('multipart/mixed; boundary=ejjeeffe0', section('README $batch RESPONSE (feed XML elided)'));
    assert.equal(items.length, 2);
    assert.equal(items[0].kind, 'response');
    assert.equal(items[0].response.status, 200);
    assert.equal(items[0].response.headers['content-type'], 'application/atom+xml;type=feed');
    assert.equal(items[1].kind, 'changeset');
    assert.deepEqual(items[1].responses.map((r) => r.status), [204, 201]);
    assert.equal(items[1].responses[1].statusText, 'Created');
    assert.match(items[1].responses[1].headers.location, /ServiceRequestItemCollection\('00163E0DBD9E1ED59AABEB57FF4A3F4B'\)$/);
  });

  it('builds one changeset per create, CRLF lines, Content-ID and byte lengths; the simulator\'s own parser reads it back', () => {
    const ops = [
      { method: 'GET', url: "IndividualCustomerCollection?$filter=LastName%20eq%20'o1'" },
      { method: 'POST', url: 'IndividualCustomerCollection', body: { FirstName: 'Wechat', LastName: '张三' } },
      { method: 'POST', url: 'IndividualCustomerCollection', body: { FirstName: 'Wechat', LastName: 'o2' } },
    ];
    const req = buildBatchRequest(ops);
    assert.match(req.headers['Content-Type'], /^multipart\/mixed; boundary=batch_[0-9a-f]+$/);
    assert.ok(!/[^\r]\n/.test(req.body), 'every line ends with CRLF');
    const b = boundaryOf(req.headers['Content-Type']);
    const parts = splitMultipart(req.body, b);
    assert.equal(parts.length, 3);
    assert.equal((req.body.match(/boundary=changeset_/g) || []).length, 2);
    assert.match(req.body, /Content-Length: 42\r\n/); // {"FirstName":"Wechat","LastName":"张三"} in UTF-8 bytes
    const parsed = parseBatchRequest(req.headers['Content-Type'], req.body);
    assert.deepEqual(parsed.map((p) => [p.changeset, p.operations.map((o) => [o.method, o.url, o.body ? JSON.parse(o.body).LastName : undefined])]), [
      [false, [['GET', "IndividualCustomerCollection?$filter=LastName%20eq%20'o1'", undefined]]],
      [true, [['POST', 'IndividualCustomerCollection', '张三']]],
      [true, [['POST', 'IndividualCustomerCollection', 'o2']]],
    ]);
  });

  it('the simulator parses the guide\'s real $batch request (LF lines, trailing blanks, Content-ID)', () => {
    const text = section('README $batch REQUEST');
    const body = text.slice(text.indexOf('\n\n') + 2);
    const parsed = parseBatchRequest('multipart/mixed; boundary=batch_guid_01', body);
    assert.deepEqual(parsed.map((p) => [p.changeset, p.operations.map((o) => `${o.method} ${o.url}`)]), [
      [false, ['GET ServiceRequestCollection/?$top=3']],
      [true, ["PATCH ServiceRequestCollection('00163E0DBD9E1ED596EBDFDA564728AC')", 'POST ServiceRequestItemCollection']],
    ]);
    assert.equal(JSON.parse(parsed[1].operations[1].body).ProductID, '10000760');
  });

  it('round trip through the simulator: it stops at the refused create; the create before it is 201, the one after has no answer and was not run', async () => {
    const ops = ['o1', '', 'o3'].map((ln) => ({ method: 'POST', url: 'IndividualCustomerCollection', body: { LastName: ln } }));
    const req = buildBatchRequest(ops);
    const run = [];
    const handler = async (op) => {
      const b = JSON.parse(op.body);
      run.push(b.LastName);
      return b.LastName ? { status: 201, headers: { 'Content-Type': 'application/json', location: `X('${b.LastName}')` }, body: JSON.stringify({ d: { results: { LastName: b.LastName } } }) }
        : { status: 400, headers: { 'Content-Type': 'application/json' }, body: '{"error":{"code":"X","message":{"value":"LastName is required"}}}' };
    };
    const answer = await answerBatch(req.headers['Content-Type'], req.body, handler);
    assert.equal(answer.operations, 2);
    assert.deepEqual(run, ['o1', '']);
    const results = batchResults(ops, parseBatchResponse(answer.contentType, answer.body));
    assert.equal(results.length, 3);
    assert.deepEqual(results.map((r) => r && r.status), [201, 400, undefined]);
    assert.equal(JSON.parse(results[0].body).d.results.LastName, 'o1');
    assert.match(results[1].body, /LastName is required/);
  });

  it('a changeset that failed as a whole (one error response) stands for its operation; an answer that stops there leaves the rest unanswered', () => {
    const part = (status, text, body) => `--b0\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\n\r\n${body}\r\n`;
    const body = `${part(400, 'Bad Request', '{"error":{}}')}--b0--\r\n`;
    const r = batchResults([{ method: 'POST', url: 'X' }], parseBatchResponse('multipart/mixed; boundary=b0', body));
    assert.equal(r[0].status, 400);
    assert.equal(r[0].body, '{"error":{}}');
    assert.deepEqual(batchResults([{ method: 'POST', url: 'X' }, { method: 'POST', url: 'Y' }], parseBatchResponse('multipart/mixed; boundary=b0', body)).map((x) => x && x.status), [400, undefined]);
    assert.throws(() => batchResults([{ method: 'POST', url: 'X' }], parseBatchResponse('multipart/mixed; boundary=b0', `${part(201, 'Created', '{}')}${part(201, 'Created', '{}')}--b0--\r\n`)), /2 answers for 1/);
    assert.throws(() => parseBatchResponse('application/json', '{}'), /not multipart/);
  });

  it('a partial answer in C4C\'s shape: changeset 1 (201 in its own changeset), changeset 2 failed as one response, nothing for changeset 3', () => {
    const body = [
      '--batch_r1', 'Content-Type: multipart/mixed; boundary=changeset_a', '',
      '--changeset_a', 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '',
      'HTTP/1.1 201 Created', 'Content-Type: application/json', "location: https://my000000.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('00163E03A0701EE8')", '',
      '{"d":{"results":{"ObjectID":"00163E03A0701EE8","CustomerID":"1000001"}}}', '--changeset_a--',
      '--batch_r1', 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '',
      'HTTP/1.1 400 Bad Request', 'Content-Type: application/json', '',
      '{"error":{"code":"SY/530","message":{"lang":"en","value":"Instance with UUID 0A1B already exists"}}}',
      '--batch_r1--', '',
    ].join('\r\n');
    const ops = [1, 2, 3].map(() => ({ method: 'POST', url: 'IndividualCustomerCollection', body: {} }));
    const [one, two, three] = batchResults(ops, parseBatchResponse('multipart/mixed; boundary=batch_r1', body));
    assert.equal(one.status, 201);
    assert.equal(JSON.parse(one.body).d.results.CustomerID, '1000001');
    assert.equal(two.status, 400);
    assert.match(JSON.parse(two.body).error.message.value, /already exists/);
    assert.equal(three, undefined);
  });
});

describe('$filter with or, matched back exactly', () => {
  it('quotes doubled, one filter when short', () => {
    assert.equal(odataString("O'Brien"), "'O''Brien'");
    assert.deepEqual(buildOrFilters('LastName', ['a', "b'c", 'a']), [{ filter: "LastName eq 'a' or LastName eq 'b''c'", values: ['a', "b'c"] }]);
  });

  it('splits under the URL limit; every value in exactly one chunk', () => {
    const values = Array.from({ length: 200 }, (_, i) => `oUser_${String(i).padStart(3, '0')}_xxxxxxxxxxxxxxxxxxxx`);
    const chunks = buildOrFilters('LastName', values, { maxLength: 1000 });
    assert.ok(chunks.length > 1);
    for (const c of chunks) assert.ok(encodeURIComponent(c.filter).length <= 1000);
    assert.deepEqual(chunks.flatMap((c) => c.values), values);
    assert.ok(buildOrFilters('LastName', values, { maxValues: 20 }).every((c) => c.values.length <= 20));
    assert.throws(() => buildOrFilters('Last Name', ['x']), /property/);
  });

  it('values that differ only in case get their own customer (C4C may compare without case)', () => {
    const results = [{ LastName: 'oAbc', CustomerID: '1' }, { LastName: 'oABC', CustomerID: '2' }, { LastName: 'other', CustomerID: '3' }];
    const m = matchByValue('LastName', ['oAbc', 'oABC', 'oabc'], results);
    assert.deepEqual(m.get('oAbc').map((r) => r.CustomerID), ['1']);
    assert.deepEqual(m.get('oABC').map((r) => r.CustomerID), ['2']);
    assert.deepEqual(m.get('oabc'), []);
  });
});

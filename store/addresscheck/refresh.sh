#!/bin/sh
# Refreshes the throwaway-domain data from the npm package
# disposable-email-domains (MIT): disposable.txt (every domain, sorted byte-wise,
# one a line, searched in place by disposable.go), wildcard.txt (domains all of
# whose subdomains are throwaway) and LICENSE (the package keeps its licence in
# Readme.md). Usage: store/addresscheck/refresh.sh [version]   (default: latest)
set -eu
cd "$(dirname "$0")"
version="${1:-latest}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "disposable-email-domains@$version" >/dev/null && tar xzf disposable-email-domains-*.tgz)
node -e '
const fs = require("fs");
const dir = process.argv[1];
const pkg = require(dir + "/package.json");
// ASCII (A-label) form, as the check looks domains up.
const ascii = (d) => require("url").domainToASCII(d.trim().toLowerCase().replace(/\.$/, ""));
const clean = (list) => [...new Set(list.map(ascii).filter((d) => d.includes(".")))]
  .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
const header = (what) => "# " + what + " from the npm package disposable-email-domains " + pkg.version +
  " (" + pkg.repository + "), " + pkg.license + " licence: see LICENSE. Refreshed by refresh.sh.\n";
fs.writeFileSync("disposable.txt", header("Throwaway mail domains") + clean(require(dir + "/index.json")).join("\n") + "\n");
fs.writeFileSync("wildcard.txt", header("Domains all of whose subdomains are throwaway") + clean(require(dir + "/wildcard.json")).join("\n") + "\n");
const readme = fs.readFileSync(dir + "/Readme.md", "utf8");
const licence = readme.slice(readme.indexOf("# License"));
fs.writeFileSync("LICENSE", "The data in disposable.txt and wildcard.txt comes from the npm package\n" +
  "disposable-email-domains " + pkg.version + " (" + pkg.repository + ").\n" +
  "Its licence, as its Readme.md states it (" + pkg.license + "):\n\n" + licence.trim() + "\n");
' "$tmp/package"
echo "disposable.txt: $(grep -vc '^#' disposable.txt) domains; wildcard.txt: $(grep -vc '^#' wildcard.txt)"

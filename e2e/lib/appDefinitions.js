/*
 * The app definitions the catalog should show, read from the catalog/ YAML itself so that a missing or broken app
 * definition makes the browser test fail.
 */
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

function yamlFilesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFilesUnder(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
}

/** `[{ name, namespace, title }]` of every Component with `spec.type: fediversity-app` under `catalogDir`. */
function readAppDefinitions(catalogDir) {
  const apps = [];
  for (const file of yamlFilesUnder(catalogDir)) {
    for (const document of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      if (document.errors.length > 0) {
        throw new Error(`${file}: ${document.errors[0].message}`);
      }
      const entity = document.toJS();
      if (entity?.kind === 'Component' && entity.spec?.type === 'fediversity-app') {
        apps.push({
          name: entity.metadata.name,
          namespace: entity.metadata.namespace ?? 'default',
          title: entity.metadata.title ?? entity.metadata.name,
        });
      }
    }
  }
  return apps.sort((a, b) => a.name.localeCompare(b.name));
}

module.exports = { readAppDefinitions };

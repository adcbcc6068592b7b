// @ts-check
// Export and import on an instance's or a cluster's page: Export downloads
// the keys below a path as JSON, TOML or INI (exportConfig; a Blob and a
// download link, nothing inline); Import takes a file or pasted text, shows
// its dry run (each key before → after; with REPLACE, what it deletes) and,
// confirmed, imports it as one write (importConfig). A text that does not
// parse is refused with the line and column, shown next to the form.

import { gql } from './api.js';
import { h, replace, errorBox, showError, guardSubmit, guardButton } from './dom.js';
import { describe, refused } from './errors.js';
import { targetVar } from './rollback.js';
import { changeItem, changeCounts } from './import-plan.js';
import { deliveryItem, summarize } from './progress.js';
import { MEMBER_PLAN, memberSummary, wouldRefuse } from './preview.js';

/** @typedef {import('./undo.js').Target} Target */

const FORMATS = ['JSON', 'TOML', 'INI'];
const EXTENSIONS = { JSON: 'json', TOML: 'toml', INI: 'ini' };
const TYPES = { JSON: 'application/json', TOML: 'application/toml', INI: 'text/plain' };
const EXPORT = `query($t: Target!, $p: String!, $f: ConfigFormat!) {
  exportConfig(target: $t, pathPrefix: $p, format: $f) { content keys format } }`;
const CHANGE = 'path before { value meta { key value } } after { value meta { key value } }';
const RESULT = 'operationId results { instance { id name } delivery error }';
const IMPORT = `mutation($t: Target!, $p: String!, $f: ConfigFormat!, $c: String!, $m: ImportMode!, $dry: Boolean!, $force: Boolean!) {
  importConfig(target: $t, pathPrefix: $p, format: $f, content: $c, mode: $m, dryRun: $dry, force: $force) {
    dryRun changes { ${CHANGE} } ${RESULT} members { ${MEMBER_PLAN} } } }`;

/** A file name of the target, the path and the format: "web-01_user_app.toml". */
/** @param {string} name @param {string} path @param {string} format */
export function fileName(name, path, format) {
  const stem = `${name}_${path}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+$/, '');
  return `${stem}.${EXTENSIONS[/** @type {keyof EXTENSIONS} */ (format)]}`;
}

/** @param {string} id @param {string} chosen */
function formatSelect(id, chosen = 'JSON') {
  return /** @type {HTMLSelectElement} */ (
    h('select', { id, name: 'format' }, FORMATS.map((f) => h('option', { value: f, selected: f === chosen }, f)))
  );
}

/**
 * @typedef {object} TransferOptions
 * @property {Target} target
 * @property {boolean} canEdit
 * @property {() => string} name the target's name, for the file
 * @property {(result: any, label: string) => Promise<void> | void} onImported
 */

/**
 * The Export and Import panel.
 * @param {TransferOptions} o
 * @returns {{el: HTMLElement, follow: (path: string | null) => void, stop: () => void}}
 */
export function transferPanel(o) {
  // -- export -------------------------------------------------------------------
  const exportPath = /** @type {HTMLInputElement} */ (
    h('input', { id: 'export-path', name: 'path', value: 'user:/', required: true, spellcheck: 'false', autocomplete: 'off' })
  );
  const exportFormat = formatSelect('export-format');
  const exportBox = errorBox();
  const exported = h('p', { class: 'exported', role: 'status', hidden: true });
  const exportForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'export-form' },
      h('h3', {}, 'Export'),
      h('div', { class: 'field' }, h('label', { for: 'export-path' }, 'Keys below'), exportPath),
      h('div', { class: 'field' }, h('label', { for: 'export-format' }, 'Format'), exportFormat),
      h('button', { type: 'submit' }, 'Export'),
      exportBox,
      exported,
    )
  );
  /** @type {string | null} */
  let url = null;
  guardSubmit(
    exportForm,
    async () => {
      const path = exportPath.value.trim();
      const data = await gql(EXPORT, { t: targetVar(o.target), p: path, f: exportFormat.value });
      const file = fileName(o.name(), path, exportFormat.value);
      if (url) URL.revokeObjectURL(url);
      const blob = new Blob([data.exportConfig.content], { type: TYPES[/** @type {keyof TYPES} */ (exportFormat.value)] });
      url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: file, class: 'download' }, file);
      const n = data.exportConfig.keys;
      replace(exported, `${n} ${n === 1 ? 'key' : 'keys'} exported: `, link);
      exported.hidden = false;
      link.click();
    },
    { box: exportBox },
  );

  // -- import -------------------------------------------------------------------
  const importPath = /** @type {HTMLInputElement} */ (
    h('input', { id: 'import-path', name: 'path', value: 'user:/', required: true, spellcheck: 'false', autocomplete: 'off' })
  );
  const importFormat = formatSelect('import-format');
  const file = /** @type {HTMLInputElement} */ (h('input', { id: 'import-file', type: 'file', accept: '.json,.toml,.ini,.txt,text/*,application/json' }));
  const content = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { id: 'import-content', name: 'content', rows: 6, spellcheck: 'false', placeholder: 'Choose a file, or paste the text here' })
  );
  const mode = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'import-mode', name: 'mode' },
      h('option', { value: 'MERGE' }, 'Merge (keep other keys)'),
      h('option', { value: 'REPLACE' }, 'Replace (delete other keys)'),
    )
  );
  const importBox = errorBox();
  const planArea = h('div', { class: 'import-plan', 'aria-live': 'polite' });
  const importForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'import-form' },
      h('h3', {}, 'Import'),
      h('div', { class: 'field' }, h('label', { for: 'import-path' }, 'Into'), importPath),
      h('div', { class: 'field' }, h('label', { for: 'import-file' }, 'File'), file),
      h('div', { class: 'field wide' }, h('label', { for: 'import-content' }, 'Text'), content),
      h('div', { class: 'field' }, h('label', { for: 'import-format' }, 'Format'), importFormat),
      h('div', { class: 'field' }, h('label', { for: 'import-mode' }, 'Mode'), mode),
      h('button', { type: 'submit' }, 'Preview import'),
      importBox,
    )
  );
  file.addEventListener('change', async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    const ext = (/\.([a-z]+)$/i.exec(chosen.name) || ['', ''])[1].toUpperCase();
    if (FORMATS.includes(ext)) importFormat.value = ext;
    content.value = await chosen.text();
    replace(planArea);
  });
  content.addEventListener('input', () => {
    content.removeAttribute('aria-invalid');
    replace(planArea);
  });

  /** The variables of the import as the form says it now. */
  function importVars() {
    return { t: targetVar(o.target), p: importPath.value.trim(), f: importFormat.value, c: content.value, m: mode.value };
  }

  /** A parse error: its place in the text, selected. @param {any} e */
  function parseError(e) {
    const ext = e && e.extensions;
    if (!ext || typeof ext.line !== 'number') return;
    content.setAttribute('aria-invalid', 'true');
    const lines = content.value.split('\n');
    let at = 0;
    for (let i = 0; i < ext.line - 1 && i < lines.length; i++) at += lines[i].length + 1;
    at += Math.max(0, (ext.column || 1) - 1);
    content.focus();
    content.setSelectionRange(at, Math.min(content.value.length, at + 1));
    e.message = `line ${ext.line}, column ${ext.column}: ${e.message}`;
  }

  guardSubmit(
    importForm,
    async () => {
      if (!content.value.trim()) throw refused('Choose a file or paste the text to import', 'BAD_INPUT');
      replace(planArea);
      const vars = importVars();
      let answer;
      try {
        answer = (await gql(IMPORT, { ...vars, dry: true, force: false })).importConfig;
      } catch (e) {
        parseError(e);
        throw e;
      }
      showPlan(answer, vars);
    },
    { box: importBox },
  );

  /** @param {any} answer @param {Record<string, any>} vars */
  function showPlan(answer, vars) {
    const changes = answer.changes;
    if (!changes.length) {
      replace(planArea, h('p', { class: 'plan-empty' }, 'Nothing to import: ', h('code', {}, vars.p), ' holds this already.'));
      return;
    }
    // A cluster's members (an instance: itself, said only when it would refuse).
    const members = o.target.kind === 'cluster' || wouldRefuse(answer.members).length ? answer.members : [];
    const refusing = wouldRefuse(members);
    const yes = /** @type {HTMLButtonElement} */ (
      h('button', { type: 'button', class: 'danger', id: 'confirm-import' }, refusing.length ? 'Import anyway' : `Import ${changes.length} ${changes.length === 1 ? 'change' : 'changes'}`)
    );
    const no = h('button', { type: 'button', class: 'quiet' }, 'Cancel');
    no.addEventListener('click', () => replace(planArea));
    const buttons = h('div', { class: 'buttons' }, yes, no);
    const box = errorBox();
    guardButton(
      yes,
      async () => {
        const force = refusing.length > 0;
        const data = await gql(IMPORT, { ...vars, dry: false, force });
        const result = data.importConfig;
        showResult(result, vars);
        if (result.operationId) await o.onImported(result, `import ${result.changes.length} changes into ${vars.p}`);
      },
      { box, root: buttons },
    );
    replace(
      planArea,
      h('p', { class: 'plan-head' }, `${vars.m === 'REPLACE' ? 'Replace' : 'Merge into'} `, h('code', {}, vars.p), `: ${changeCounts(changes)}.`),
      h('ul', { class: 'plan' }, changes.map(changeItem)),
      members.length ? memberSummary(members) : null,
      buttons,
      box,
    );
    yes.focus();
  }

  /** @param {any} result @param {Record<string, any>} vars */
  function showResult(result, vars) {
    const rows = result.results;
    const cluster = o.target.kind === 'cluster';
    replace(
      planArea,
      h(
        'p',
        { class: 'import-done', role: 'status' },
        h('strong', {}, 'Imported: '),
        `${changeCounts(result.changes)} in `,
        h('code', {}, vars.p),
        cluster ? `; ${summarize(rows)}.` : '.',
      ),
      cluster && rows.length ? h('ul', { class: 'deliveries' }, rows.map(deliveryItem)) : null,
    );
  }

  const el = h(
    'section',
    { class: 'panel transfer', 'aria-labelledby': 'transfer-title' },
    h('h2', { id: 'transfer-title' }, 'Export and import'),
    h('div', { class: 'transfer-forms' }, exportForm, o.canEdit ? h('div', { class: 'import-area' }, importForm, planArea) : null),
  );
  return {
    el,
    follow(path) {
      if (!path) return;
      if (document.activeElement !== exportPath) exportPath.value = path;
      if (document.activeElement !== importPath && !planArea.firstChild) importPath.value = path;
    },
    stop() {
      if (url) URL.revokeObjectURL(url);
    },
  };
}

import type { OperationNode, RawNode, RootOperationNode, TableNode } from 'kysely';

/**
 * Whether a statement can run on the shared PGlite session whatever its search_path is: every
 * relation it names is schema-qualified, and nothing in it reads the search_path. Builder queries
 * are qualified by kysely's WithSchemaPlugin (ServiceDatabase.db has it); raw `sql` text is not, so
 * its fragments are read conservatively: a name after FROM, JOIN, INTO, UPDATE, USING, TABLE,
 * REFERENCES that is neither schema-qualified (`"trip"."saga"`, `${database.table('saga')}`), nor a
 * CTE of the statement, nor a subquery or function call; any DDL or session statement; a
 * relation-by-name function (`nextval`, `to_regclass`, `current_schema`, `::regclass`); or a cast
 * to a type outside pg_catalog's common ones. Any such statement gets its service's search_path
 * first. A false "free" would read another service's table only if both have one of that name;
 * a false "needs the path" costs a `set search_path` (~0.2 ms), so the reading errs that way.
 */
export function isSchemaFree(root: RootOperationNode): boolean {
  return new SchemaFreeCheck().statement(root);
}

const relationKeyword = /\b(from|join|into|update|using|table|references)\s+/giy;
const keywordAnywhere = /\b(from|join|into|update|using|table|references)\b/gi;
const sessionOrDdl = /^\s*(create|alter|drop|grant|revoke|comment|truncate|lock|copy|vacuum|analyze|reindex|cluster|refresh|listen|notify|unlisten|set|reset|show|discard|prepare|execute|deallocate|declare|fetch|move|close|do|call|import|security)\b/i;
const readsSearchPath =
  /\b(current_schemas?|search_path|to_reg\w*|nextval|currval|setval|lastval|pg_get_serial_sequence|pg_\w+_is_visible)\b|::\s*reg\w+/i;
const castTo = /::\s*("(?:[^"]|"")*"|[a-z_][a-z0-9_]*)(\s*\.\s*)?/gi;
const builtinTypes = new Set([
  'uuid', 'json', 'jsonb', 'text', 'varchar', 'char', 'bpchar', 'name', 'int', 'int2', 'int4', 'int8', 'integer', 'bigint',
  'smallint', 'float4', 'float8', 'real', 'double', 'numeric', 'decimal', 'bool', 'boolean', 'date', 'time', 'timetz',
  'timestamp', 'timestamptz', 'interval', 'bytea', 'inet', 'cidr', 'oid', 'tsvector', 'tsquery', 'point', 'record',
]);
// Marks standing in for a raw statement's parameters when its text is read.
const QUALIFIED = '\u0001';
const OTHER = '\u0002';
const identifier = '(?:"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)';
const qualifiedName = new RegExp(`^(?:${QUALIFIED}|${identifier}\\s*\\.\\s*${identifier})`, 'i');
const plainName = new RegExp(`^(${identifier})`, 'i');
const cteName = new RegExp(`(?:\\bwith(?:\\s+recursive)?|,)\\s*(${identifier})\\s*(?:\\([^)]*\\))?\\s+as\\s+(?:not\\s+)?(?:materialized\\s+)?\\(`, 'gi');

class SchemaFreeCheck {
  readonly #ctes = new Set<string>();

  statement(root: OperationNode): boolean {
    this.#collectCtes(root);
    return this.#node(root);
  }

  #collectCtes(node: unknown): void {
    walk(node, (child) => {
      if (child.kind === 'CommonTableExpressionNameNode') {
        const table = (child as unknown as { table: TableNode }).table;
        this.#ctes.add(table.table.identifier.name.toLowerCase());
      }
      return true;
    });
  }

  #node(root: OperationNode): boolean {
    let free = true;
    walk(root, (node) => {
      if (!free) return false;
      // A column's table is an alias or the statement's own relation, never looked up alone.
      if (node.kind === 'ReferenceNode' || node.kind === 'SelectModifierNode') return false;
      if (node.kind === 'TableNode') {
        free = this.#table(node as TableNode);
        return false;
      }
      if (node.kind === 'RawNode') {
        free = this.#raw(node as RawNode);
        return free;
      }
      return true;
    });
    return free;
  }

  #table(node: TableNode): boolean {
    return node.table.schema !== undefined || this.#ctes.has(node.table.identifier.name.toLowerCase());
  }

  #raw(node: RawNode): boolean {
    let text = '';
    node.sqlFragments.forEach((fragment, index) => {
      text += fragment;
      const parameter = node.parameters[index];
      if (parameter !== undefined) text += isQualifiedTable(parameter) ? QUALIFIED : OTHER;
    });
    text = text.replace(/'(?:[^']|'')*'/g, "''").replace(/--[^\n]*/g, ' ');
    if (readsSearchPath.test(text)) return false;
    for (const statement of text.split(';')) if (sessionOrDdl.test(statement)) return false;
    for (const match of text.matchAll(castTo)) {
      if (match[2] !== undefined) continue;
      if (!builtinTypes.has(unquote(match[1] as string).toLowerCase())) return false;
    }
    for (const match of text.matchAll(cteName)) this.#ctes.add(unquote(match[1] as string).toLowerCase());
    for (const match of text.matchAll(keywordAnywhere)) {
      const before = text.slice(0, match.index).trimEnd().toLowerCase();
      const keyword = (match[1] as string).toLowerCase();
      // FOR UPDATE, FOR NO KEY UPDATE, ON CONFLICT … DO UPDATE lock or write rows, name nothing.
      if (keyword === 'update' && /\b(for|key|do)$/.test(before)) continue;
      relationKeyword.lastIndex = match.index;
      const at = relationKeyword.exec(text);
      const rest = at === null ? text.slice(match.index + match[0].length) : text.slice(match.index + at[0].length);
      if (!this.#relationList(rest, keyword)) return false;
    }
    return true;
  }

  /** The relations after a keyword, one or more separated by commas (a FROM list). */
  #relationList(text: string, keyword: string): boolean {
    const single = keyword === 'into' || keyword === 'update' || keyword === 'table' || keyword === 'references';
    let rest = text.replace(/^(?:only|lateral)\s+/i, '');
    for (;;) {
      const qualified = qualifiedName.exec(rest);
      if (qualified !== null) {
        rest = rest.slice(qualified[0].length);
      } else if (/^\s*\(/.test(rest)) {
        // A subquery or VALUES list: its own relations are read where their keywords are.
        rest = afterParentheses(rest);
      } else {
        const name = plainName.exec(rest);
        if (name === null) return false;
        rest = rest.slice(name[0].length);
        if (/^\s*\(/.test(rest) && !single) {
          // A set-returning function (jsonb_to_recordset, unnest): pg_catalog is searched first.
          rest = afterParentheses(rest);
        } else if (!this.#ctes.has(unquote(name[1] as string).toLowerCase())) {
          return false;
        }
      }
      if (single) return true;
      // An optional alias (with its column list), then the end of the list or a comma and the next.
      const alias = aliasAfterRelation.exec(rest);
      if (alias !== null) {
        rest = rest.slice(alias[0].length);
        if (/^\s*\(/.test(rest)) rest = afterParentheses(rest);
      }
      const comma = /^\s*,\s*/.exec(rest);
      if (comma === null) return true;
      rest = rest.slice(comma[0].length).replace(/^lateral\s+/i, '');
    }
  }
}

const aliasAfterRelation = new RegExp(
  `^\\s+(?:as\\s+)?(?!(?:where|on|set|join|left|right|inner|full|cross|natural|order|group|limit|returning|values|select|default|union|except|intersect|having|window|for|using|offset|fetch|with|and|or)\\b)${identifier}`,
  'i',
);

/** The text after the parenthesised group it starts with (string literals are already blanked). */
function afterParentheses(text: string): string {
  let depth = 0;
  for (let index = text.indexOf('('); index < text.length; index++) {
    const char = text[index];
    if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return text.slice(index + 1);
  }
  return '';
}

function isQualifiedTable(node: OperationNode): boolean {
  if (node.kind === 'TableNode') return (node as TableNode).table.schema !== undefined;
  // sql.table('schema.name') is a raw node around the table; sql.id(schema, name) a dotted pair.
  if (node.kind === 'RawNode') {
    const raw = node as RawNode;
    if (raw.sqlFragments.every((fragment) => fragment === '') && raw.parameters.length === 1) return isQualifiedTable(raw.parameters[0] as OperationNode);
    if (raw.parameters.length === 2 && raw.sqlFragments.join('|') === '|.|' && raw.parameters.every((parameter) => parameter.kind === 'IdentifierNode')) return true;
  }
  return false;
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}

/** Visits every operation node; `visit` returning false skips that node's children. Values are skipped. */
function walk(node: unknown, visit: (node: OperationNode) => boolean): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  const candidate = node as { kind?: unknown };
  if (typeof candidate.kind !== 'string') return;
  if (candidate.kind === 'ValueNode' || candidate.kind === 'PrimitiveValueListNode') return;
  if (!visit(candidate as OperationNode)) return;
  for (const value of Object.values(candidate)) {
    if (value !== null && typeof value === 'object') walk(value, visit);
  }
}

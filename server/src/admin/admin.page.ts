import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Router } from 'express';
import { escapeHtml } from '../dashboards/sanitize.js';
import { sendPage } from '../http/html-page.js';
import { SERVER_ROOT } from '../paths.js';

export const ADMIN_PATH = '/tandem/admin';
const SIGN_IN = `/tandem/login?next=${ADMIN_PATH}`;

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:0 auto;max-width:76rem;padding:0 1rem 4rem;color:#1f2328;line-height:1.4}' +
  'header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:1rem;border-bottom:1px solid #d0d7de}' +
  'header form{display:flex;align-items:center;gap:.75rem}nav a{margin-right:1.25rem}section{margin-top:2.5rem}' +
  'table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}' +
  'th{background:#f6f8fa}form.inline{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.75rem 0}' +
  'label{display:flex;flex-direction:column;font-size:.9rem;gap:.15rem}label.check{flex-direction:row;align-items:center;gap:.4rem}' +
  'input,button{font:inherit;padding:.3rem .5rem}td button{margin:0 .3rem .3rem 0}td form.inline{margin:0}' +
  'ul.members{list-style:none;margin:0;padding:0}ul.members li{margin-bottom:.2rem}' +
  '.error{color:#b42318;font-weight:600}.ok{color:#1a7f37}.muted{color:#57606a}' +
  'code{background:#f6f8fa;padding:.1rem .3rem;word-break:break-all}td.details{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}' +
  '.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}' +
  '.pager{display:flex;align-items:center;gap:.75rem}dialog{max-width:30rem}';

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Only this page's own script and style run (by hash), it talks to this server only, forms post
 * here only, and no string becomes markup (Trusted Types: the script builds nodes, never HTML).
 */
const policy = (scriptHash?: string) =>
  `default-src 'none'; script-src ${scriptHash ?? "'none'"}; style-src ${hash(STYLE)}; connect-src 'self'; form-action 'self'; ` +
  `base-uri 'none'; frame-ancestors 'none'; object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'`;

/** GET /tandem/admin: the admin page for a signed-in admin; its script calls the REST API. */
export async function adminPages(): Promise<Router> {
  // A plain browser script beside this module (src/, also when running from dist/): linted, not compiled.
  const script = await readFile(path.join(SERVER_ROOT, 'src', 'admin', 'admin-page.js'), 'utf8');
  const pageCsp = policy(hash(script));
  const pages = Router();
  pages.get(ADMIN_PATH, (req, res) => {
    const { principal, session } = req;
    // The page writes with the session's CSRF token, so only a session opens it, never an API token.
    if (!principal || !session) {
      res.redirect(303, SIGN_IN);
      return;
    }
    if (!principal.isAdmin) {
      sendPage(res, 403, policy(), forbidden(principal.name, session.csrfToken));
      return;
    }
    sendPage(res, 200, pageCsp, page(principal, session.csrfToken, script));
  });
  return pages;
}

const head = (title: string, extra = '') =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${extra}<title>${title}</title><style>${STYLE}</style></head>`;

const signOut = (name: string, csrfToken: string) =>
  `<form method="post" action="/tandem/logout"><span class="muted">Signed in as <strong>${escapeHtml(name)}</strong></span>` +
  `<input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}"><button type="submit">Sign out</button></form>`;

function forbidden(name: string, csrfToken: string): string {
  return `${head('Admins only')}
<body><header><h1>Admins only</h1>${signOut(name, csrfToken)}</header>
<main><p>The admin page is for Tandem admins, and <strong>${escapeHtml(name)}</strong> is not one.</p>
<p>Sign out and sign in as an admin, or ask an admin to make you one.</p></main></body></html>`;
}

const pager = (what: string) =>
  `<nav class="pager" aria-label="${what} pages"><button type="button" data-step="-1">Previous</button>` +
  `<span class="where" aria-live="polite"></span><button type="button" data-step="1">Next</button></nav>`;

const headers = (...names: string[]) => `<thead><tr>${names.map((n) => `<th scope="col">${n}</th>`).join('')}</tr></thead>`;

function page(me: { id: string; name: string }, csrfToken: string, script: string): string {
  return `${head('Tandem admin', `<meta name="tandem-csrf" content="${escapeHtml(csrfToken)}"><meta name="tandem-user" content="${escapeHtml(me.id)}">\n`)}
<body>
<header><h1>Tandem admin</h1>${signOut(me.name, csrfToken)}</header>
<nav aria-label="Sections"><a href="#users">Users</a><a href="#teams">Teams</a><a href="#tokens">API tokens</a><a href="#audit">Audit log</a></nav>
<main>
<section id="users" aria-labelledby="users-title">
<h2 id="users-title">Users</h2>
<div class="messages"></div>
<form id="user-search" class="inline" role="search"><label>Find users<input type="search" name="q" maxlength="100"></label><button type="submit">Search</button></form>
<table aria-labelledby="users-title">${headers('User name', 'Display name', 'Admin', 'Status', 'Created', 'Actions')}<tbody></tbody></table>
${pager('Users')}
<h3>Create a user</h3>
<form id="create-user" class="inline">
<label>User name<input name="name" required maxlength="63" autocomplete="off"></label>
<label>Display name (optional)<input name="displayName" maxlength="200" autocomplete="off"></label>
<label>Password (optional, 12+ characters)<input name="password" type="password" minlength="12" maxlength="1024" autocomplete="new-password"></label>
<label class="check"><input name="isAdmin" type="checkbox">Admin</label>
<button type="submit">Create user</button>
</form>
<p class="muted">Without a password a person signs in with single sign-on, or uses the API token shown once after creating them.</p>
</section>

<dialog id="password-dialog" aria-labelledby="password-title">
<form id="reset-password">
<h2 id="password-title">Reset the password of <span class="who"></span></h2>
<p class="muted">At least 12 characters, not the user name. Their sessions end and a lockout is lifted; their API tokens keep working.</p>
<label>New password<input name="password" type="password" required minlength="12" maxlength="1024" autocomplete="new-password"></label>
<div class="messages"></div>
<p><button type="submit">Set password</button> <button type="button" class="cancel">Cancel</button></p>
</form>
</dialog>

<section id="teams" aria-labelledby="teams-title">
<h2 id="teams-title">Teams</h2>
<div class="messages"></div>
<form id="create-team" class="inline"><label>Team name<input name="name" required maxlength="63" autocomplete="off"></label><button type="submit">Create team</button></form>
<p class="muted">Whoever creates a team becomes a member of it; remove yourself if you should not be one.</p>
<table aria-labelledby="teams-title">${headers('Team', 'Members', 'Add a member', 'Actions')}<tbody></tbody></table>
${pager('Teams')}
</section>

<section id="tokens" aria-labelledby="tokens-title">
<h2 id="tokens-title">API tokens</h2>
<div class="messages"></div>
<form id="token-owner" class="inline"><label>User name<input name="user" required maxlength="63" autocomplete="off"></label><button type="submit">Show tokens</button></form>
<table hidden><caption></caption>${headers('Name', 'Kind', 'Created', 'Last used', 'Status', 'Actions')}<tbody></tbody></table>
</section>

<section id="audit" aria-labelledby="audit-title">
<h2 id="audit-title">Audit log</h2>
<div class="messages"></div>
<form id="audit-filter" class="inline">
<label>Who<input name="who" maxlength="200" placeholder="user name or id" autocomplete="off"></label>
<label>Action<input name="action" maxlength="100" list="audit-actions" autocomplete="off"></label><datalist id="audit-actions"></datalist>
<label>Resource type<input name="resourceType" maxlength="50" list="audit-types" autocomplete="off"></label><datalist id="audit-types"></datalist>
<label>Resource id<input name="resourceId" maxlength="200" autocomplete="off"></label>
<label>From (local time)<input name="from" type="datetime-local" step="1"></label>
<label>To (local time)<input name="to" type="datetime-local" step="1"></label>
<button type="submit">Filter</button><button type="reset">Clear</button>
</form>
<table aria-labelledby="audit-title">${headers('Time (local)', 'Who', 'Action', 'Resource', 'Details')}<tbody></tbody></table>
${pager('Audit log')}
</section>
</main>
<script>${script}</script>
</body></html>`;
}

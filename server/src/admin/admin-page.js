/* global document, window, HTMLButtonElement */
// The admin page's script (allowed by its hash, see admin.page.ts). It calls the REST API with the
// session cookie; writes carry the session's CSRF token, which the page holds in a <meta>. Every
// value from the API goes into the page as text, never as markup.
(() => {
  const PAGE = 25;
  const csrf = document.querySelector('meta[name="tandem-csrf"]').content;
  const myId = document.querySelector('meta[name="tandem-user"]').content;
  const $ = (selector, root = document) => root.querySelector(selector);

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = { accept: 'application/json' };
    if (method !== 'GET') headers['x-csrf-token'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`/tandem/api/${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return undefined;
    const answer = await res.json().catch(() => undefined);
    if (!res.ok) throw new ApiError(res.status, answer?.error?.message ?? `${res.status} ${res.statusText}`);
    return answer;
  }

  /** An element with properties (`class`, `aria-*` and `data-*` as attributes) and text or element children. */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'class') node.className = value;
      else if (key.startsWith('aria-') || key.startsWith('data-')) node.setAttribute(key, value);
      else node[key] = value;
    }
    node.append(...children.filter((c) => c !== undefined && c !== null));
    return node;
  }

  const two = (n) => String(n).padStart(2, '0');
  function time(iso) {
    if (!iso) return 'never';
    const d = new Date(iso);
    const text = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
    return el('time', { dateTime: iso }, text);
  }

  function say(section, kind, ...content) {
    $('.messages', section).replaceChildren(el('p', { class: kind, role: kind === 'error' ? 'alert' : 'status' }, ...content));
  }

  function fail(section, error) {
    if (error instanceof ApiError && error.status === 401) {
      say(section, 'error', 'Your session has ended. ', el('a', { href: '/tandem/login?next=/tandem/admin' }, 'Sign in again'), '.');
    } else say(section, 'error', error.message);
  }

  /** An event handler that runs `work`, shows its error in `section`, and disables the control meanwhile. */
  const act = (section, work) => async (event) => {
    event.preventDefault();
    const control = event.submitter ?? (event.currentTarget instanceof HTMLButtonElement ? event.currentTarget : undefined);
    if (control) control.disabled = true;
    try {
      await work(event);
    } catch (error) {
      fail(section, error);
    } finally {
      if (control) control.disabled = false;
    }
  };

  const button = (text, label, section, work) => {
    const b = el('button', { type: 'button', 'aria-label': label }, text);
    b.addEventListener('click', act(section, work));
    return b;
  };

  const cell = (...content) => el('td', {}, ...content);
  const fields = (form) => Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v]));

  /** A paged table: `path` answers pages of `{ items, total, nextPageToken }`; Previous goes back through the tokens seen. */
  function pagedTable(section, path, query, row, empty) {
    const body = $('tbody', section);
    const nav = $('.pager', section);
    const [prev, next] = nav.querySelectorAll('button');
    const tokens = [undefined];
    let at = 0;
    let last;
    async function show(index) {
      const params = new URLSearchParams({ ...query(), limit: String(PAGE) });
      if (tokens[index]) params.set('pageToken', tokens[index]);
      const page = await api('GET', `${path}?${params}`);
      // A change (a team deleted) may have emptied this page: step back to the last one with rows.
      if (page.items.length === 0 && index > 0) return show(index - 1);
      at = index;
      last = page;
      const columns = $('thead tr', section).children.length;
      body.replaceChildren(
        ...(page.items.length ? page.items.map(row) : [el('tr', {}, el('td', { colSpan: columns, class: 'muted' }, empty))]),
      );
      $('.where', nav).textContent = page.total ? `${at * PAGE + 1}–${at * PAGE + page.items.length} of ${page.total}` : '';
      prev.disabled = at === 0;
      next.disabled = !page.nextPageToken;
    }
    // Not act(): it would enable the buttons again after show() has set them.
    prev.addEventListener('click', () => show(at - 1).catch((error) => fail(section, error)));
    next.addEventListener('click', () => {
      tokens[at + 1] = last.nextPageToken;
      show(at + 1).catch((error) => fail(section, error));
    });
    return {
      reload: () => show(at),
      first: () => {
        tokens.length = 1;
        return show(0);
      },
    };
  }

  const usersSection = $('#users');
  const teamsSection = $('#teams');
  const tokensSection = $('#tokens');
  const auditSection = $('#audit');

  // ---- audit log

  let auditQuery = {};
  const audit = pagedTable(
    auditSection,
    'audit',
    () => auditQuery,
    (e) =>
      el(
        'tr',
        {},
        cell(time(e.at)),
        cell(e.actorName ?? e.actorId ?? el('span', { class: 'muted' }, 'the server')),
        cell(e.action),
        cell(`${e.resourceType} ${e.resourceId}`),
        el('td', { class: 'details' }, Object.keys(e.details).length ? JSON.stringify(e.details) : ''),
      ),
    'No entries match.',
  );

  async function loadFacets() {
    const facets = await api('GET', 'audit/facets');
    const options = (values) => values.map((value) => el('option', { value }));
    $('#audit-actions').replaceChildren(...options(facets.actions));
    $('#audit-types').replaceChildren(...options(facets.resourceTypes));
  }

  /** After a change: its entry is in the log now. */
  const logged = () => Promise.all([audit.reload(), loadFacets()]).catch((error) => fail(auditSection, error));

  const auditForm = $('#audit-filter');
  auditForm.addEventListener(
    'submit',
    act(auditSection, async () => {
      const f = fields(auditForm);
      auditQuery = {};
      for (const key of ['who', 'action', 'resourceType', 'resourceId']) if (f[key]) auditQuery[key] = f[key];
      // datetime-local is the viewer's local time; the API takes ISO 8601 with a zone.
      for (const key of ['from', 'to']) if (f[key]) auditQuery[key] = new Date(f[key]).toISOString();
      await audit.first();
      $('.messages', auditSection).replaceChildren();
    }),
  );
  // 'reset' fires before the fields clear.
  auditForm.addEventListener('reset', () =>
    setTimeout(() => {
      auditQuery = {};
      audit.first().catch((error) => fail(auditSection, error));
    }),
  );

  // ---- users

  let usersQuery = '';
  const users = pagedTable(
    usersSection,
    'admin/users',
    () => (usersQuery ? { q: usersQuery } : {}),
    (u) => {
      const self = u.id === myId;
      const actions = [
        button(u.active ? 'Deactivate' : 'Reactivate', `${u.active ? 'Deactivate' : 'Reactivate'} ${u.name}`, usersSection, async () => {
          await api('PATCH', `users/${u.id}`, { active: !u.active });
          say(usersSection, 'ok', u.active ? `Deactivated ${u.name}: their tokens and sessions no longer work.` : `Reactivated ${u.name}.`);
          await Promise.all([users.reload(), logged()]);
        }),
        button(
          u.isAdmin ? 'Remove admin' : 'Make admin',
          `${u.isAdmin ? 'Remove admin' : 'Make admin'} ${u.name}`,
          usersSection,
          async () => {
            await api('PUT', `users/${u.id}/admin`, { isAdmin: !u.isAdmin });
            say(usersSection, 'ok', u.isAdmin ? `${u.name} is no longer an admin.` : `${u.name} is an admin now.`);
            await Promise.all([users.reload(), logged()]);
          },
        ),
        button('Reset password', `Reset password of ${u.name}`, usersSection, async () => openReset(u)),
        button('Tokens', `Tokens of ${u.name}`, usersSection, async () => {
          $('input[name="user"]', tokensSection).value = u.name;
          await showTokens(u);
          tokensSection.scrollIntoView();
        }),
      ];
      // The server refuses deactivating or unmaking oneself, so that an admin always remains.
      if (self) for (const b of actions.slice(0, 2)) b.disabled = true;
      return el(
        'tr',
        { 'data-user': u.name },
        cell(u.name),
        cell(u.displayName),
        cell(u.isAdmin ? 'admin' : ''),
        cell(u.active ? 'active' : 'deactivated'),
        cell(time(u.createdAt)),
        cell(...actions),
      );
    },
    'No users match.',
  );

  const searchForm = $('#user-search');
  searchForm.addEventListener(
    'submit',
    act(usersSection, async () => {
      usersQuery = fields(searchForm).q;
      await users.first();
    }),
  );

  const createForm = $('#create-user');
  createForm.addEventListener(
    'submit',
    act(usersSection, async () => {
      const f = fields(createForm);
      const created = await api('POST', 'users', { name: f.name, displayName: f.displayName || undefined, isAdmin: f.isAdmin === 'on' });
      createForm.reset();
      const token = ['Their first API token, shown only now: ', el('code', { class: 'token' }, created.token)];
      try {
        if (f.password) await api('PUT', `users/${created.user.id}/password`, { password: f.password });
        say(usersSection, 'ok', `Created ${created.user.name}${f.password ? ' with a password' : ''}. `, ...token);
      } catch (error) {
        say(
          usersSection,
          'error',
          `Created ${created.user.name}, but the password was refused: ${error.message}. Use Reset password. `,
          ...token,
        );
      }
      await Promise.all([users.reload(), logged()]);
    }),
  );

  const dialog = $('#password-dialog');
  const resetForm = $('#reset-password');
  let resetting;
  function openReset(user) {
    resetting = user;
    resetForm.reset();
    $('.who', dialog).textContent = user.name;
    $('.messages', dialog).replaceChildren();
    dialog.showModal();
  }
  resetForm.addEventListener(
    'submit',
    act(dialog, async () => {
      await api('PUT', `users/${resetting.id}/password`, { password: fields(resetForm).password });
      dialog.close();
      say(usersSection, 'ok', `Set a new password for ${resetting.name}; their sessions have ended.`);
      await logged();
    }),
  );
  $('.cancel', dialog).addEventListener('click', () => dialog.close());

  // ---- teams

  const teams = pagedTable(
    teamsSection,
    'admin/teams',
    () => ({}),
    (t) => {
      const members = el(
        'ul',
        { class: 'members' },
        ...t.members.map((m) =>
          el(
            'li',
            {},
            `${m.name} `,
            button('Remove', `Remove ${m.name} from ${t.name}`, teamsSection, async () => {
              await api('DELETE', `teams/${t.id}/members/${m.id}`);
              say(teamsSection, 'ok', `Removed ${m.name} from ${t.name}.`);
              await Promise.all([teams.reload(), logged()]);
            }),
          ),
        ),
      );
      const add = el(
        'form',
        { class: 'inline' },
        el(
          'label',
          {},
          el('span', { class: 'sr-only' }, `User to add to ${t.name}`),
          el('input', { name: 'user', required: true, maxLength: 63 }),
        ),
        el('button', { type: 'submit', 'aria-label': `Add to ${t.name}` }, 'Add'),
      );
      add.addEventListener(
        'submit',
        act(teamsSection, async () => {
          const { user } = fields(add);
          await api('POST', `teams/${t.id}/members`, { user });
          say(teamsSection, 'ok', `Added ${user} to ${t.name}.`);
          await Promise.all([teams.reload(), logged()]);
        }),
      );
      const remove = button('Delete team', `Delete team ${t.name}`, teamsSection, async () => {
        // What the team was granted goes with it, and there is no undo.
        if (!window.confirm(`Delete team ${t.name} and everything shared with it?`)) return;
        await api('DELETE', `teams/${t.id}`);
        say(teamsSection, 'ok', `Deleted team ${t.name}.`);
        await Promise.all([teams.reload(), logged()]);
      });
      return el('tr', { 'data-team': t.name }, cell(t.name), cell(members), cell(add), cell(remove));
    },
    'No teams yet.',
  );

  const teamForm = $('#create-team');
  teamForm.addEventListener(
    'submit',
    act(teamsSection, async () => {
      const team = await api('POST', 'teams', { name: fields(teamForm).name });
      teamForm.reset();
      say(teamsSection, 'ok', `Created team ${team.name}.`);
      await Promise.all([teams.reload(), logged()]);
    }),
  );

  // ---- API tokens

  const tokenTable = $('table', tokensSection);
  async function showTokens(user) {
    const { tokens } = await api('GET', `users/${user.id}/tokens`);
    $('caption', tokenTable).textContent = `API tokens of ${user.name}`;
    const row = (t) =>
      el(
        'tr',
        { 'data-token': t.name },
        cell(t.name),
        cell(t.kind),
        cell(time(t.createdAt)),
        cell(time(t.lastUsedAt)),
        cell(t.revokedAt ? 'revoked ' : 'active', t.revokedAt ? time(t.revokedAt) : null),
        cell(
          t.revokedAt
            ? null
            : button('Revoke', `Revoke token ${t.name}`, tokensSection, async () => {
                await api('DELETE', `users/${user.id}/tokens/${t.id}`);
                say(tokensSection, 'ok', `Revoked ${user.name}’s token ${t.name}: it no longer works.`);
                await Promise.all([showTokens(user), logged()]);
              }),
        ),
      );
    $('tbody', tokenTable).replaceChildren(
      ...(tokens.length ? tokens.map(row) : [el('tr', {}, el('td', { colSpan: 6, class: 'muted' }, 'No tokens.'))]),
    );
    tokenTable.hidden = false;
  }

  const ownerForm = $('#token-owner');
  ownerForm.addEventListener(
    'submit',
    act(tokensSection, async () => {
      const { user: name } = fields(ownerForm);
      const found = await api('GET', `admin/users?${new URLSearchParams({ q: name, limit: '200' })}`);
      const user = found.items.find((u) => u.name === name);
      if (!user) throw new Error(`There is no user named ${name}.`);
      await showTokens(user);
      $('.messages', tokensSection).replaceChildren();
    }),
  );

  for (const [section, load] of [
    [usersSection, users.first],
    [teamsSection, teams.first],
    [auditSection, audit.first],
    [auditSection, loadFacets],
  ])
    load().catch((error) => fail(section, error));
})();

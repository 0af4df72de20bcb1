import { Dialog, showDialog } from '@jupyterlab/apputils';
import { nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { Grant, Grants, Role } from './grants';

/** Lists who has access to `title` and lets owners grant, change or remove roles for users and teams. */
export async function showShareDialog(
  grants: Grants,
  title: string,
  canEdit: boolean,
  trans: TranslationBundle = nullTranslator.load('tandem'),
): Promise<void> {
  const body = new Widget({ node: h('div', { class: 'tandem-share' }) });
  const error = h('div', { class: 'tandem-share-error' });
  const list = h('table', { class: 'tandem-share-grants' });
  const render = (current: Grant[]) => {
    list.replaceChildren(
      ...current.map((g) =>
        h(
          'tr',
          {},
          h('td', {}, `${g.principal.type === 'team' ? '👥 ' : ''}${g.name}`),
          h('td', {}, g.role),
          h(
            'td',
            {},
            canEdit
              ? h(
                  'button',
                  {
                    class: 'jp-mod-styled',
                    title: trans.__('remove %1', g.name),
                    onclick: () => change(g.principal.type, g.name, null),
                  },
                  trans.__('Remove'),
                )
              : '',
          ),
        ),
      ),
    );
  };
  const change = async (type: 'user' | 'team', name: string, role: Role | null) => {
    error.textContent = '';
    try {
      render(await grants.share({ type, name }, role));
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };
  const type = h(
    'select',
    { 'aria-label': trans.__('user or team') },
    h('option', { value: 'user' }, trans.__('user')),
    h('option', { value: 'team' }, trans.__('team')),
  );
  const who = h('input', { placeholder: trans.__('name'), 'aria-label': trans.__('user or team name') });
  const role = h(
    'select',
    { 'aria-label': trans.__('role') },
    ...(['viewer', 'editor', 'owner'] as const).map((r) => h('option', { value: r }, r)),
  );
  const form = h(
    'form',
    {
      class: 'tandem-share-form',
      onsubmit: (e) => (e.preventDefault(), void change(type.value as 'user' | 'team', who.value.trim(), role.value as Role)),
    },
    type,
    who,
    role,
    h('button', { type: 'submit', class: 'jp-mod-styled jp-mod-accept' }, trans.__('Share')),
  );
  body.node.append(list, canEdit ? form : h('p', {}, trans.__('Only owners can change sharing.')), error);
  grants.list().then(
    (current) => render(current),
    (e: Error) => (error.textContent = e.message),
  );
  await showDialog({ title: trans.__('Share %1', title), body, buttons: [Dialog.okButton({ label: trans.__('Done') })] });
}

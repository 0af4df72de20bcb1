import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { Grant, Grants, Role } from './grants';

/** Lists who has access to `title` and lets owners grant, change or remove roles for users and teams. */
export async function showShareDialog(grants: Grants, title: string, canEdit: boolean): Promise<void> {
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
                    title: `remove ${g.name}`,
                    onclick: () => change(g.principal.type, g.name, null),
                  },
                  'Remove',
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
    { 'aria-label': 'user or team' },
    h('option', { value: 'user' }, 'user'),
    h('option', { value: 'team' }, 'team'),
  );
  const who = h('input', { placeholder: 'name', 'aria-label': 'user or team name' });
  const role = h('select', { 'aria-label': 'role' }, ...(['viewer', 'editor', 'owner'] as const).map((r) => h('option', { value: r }, r)));
  const form = h(
    'form',
    {
      class: 'tandem-share-form',
      onsubmit: (e) => (e.preventDefault(), void change(type.value as 'user' | 'team', who.value.trim(), role.value as Role)),
    },
    type,
    who,
    role,
    h('button', { type: 'submit', class: 'jp-mod-styled jp-mod-accept' }, 'Share'),
  );
  body.node.append(list, canEdit ? form : h('p', {}, 'Only owners can change sharing.'), error);
  grants.list().then(
    (current) => render(current),
    (e: Error) => (error.textContent = e.message),
  );
  await showDialog({ title: `Share ${title}`, body, buttons: [Dialog.okButton({ label: 'Done' })] });
}

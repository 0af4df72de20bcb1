import { RangeSetBuilder, type Extension } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, WidgetType, type DecorationSet, type ViewUpdate } from '@codemirror/view';
import type { ISharedText } from '@jupyter/ydoc';
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';

/** What each client publishes in awareness: who they are and where their cursor is. */
export interface PresenceState {
  user?: { name: string; displayName: string; color: string };
  cursor?: { cell: string; anchor: unknown; head: unknown };
}

/** A shared cell source as @jupyter/ydoc exposes it (YCell/YFile). */
interface SharedSource extends ISharedText {
  readonly ysource?: Y.Text;
  readonly id?: string;
  readonly awareness?: Awareness | null;
}

class Caret extends WidgetType {
  constructor(
    private readonly name: string,
    private readonly color: string,
  ) {
    super();
  }

  override eq(other: Caret): boolean {
    return other.name === this.name && other.color === this.color;
  }

  toDOM(): HTMLElement {
    const caret = document.createElement('span');
    caret.className = 'tandem-RemoteCaret';
    caret.style.borderColor = this.color;
    const label = document.createElement('span');
    label.className = 'tandem-RemoteCaret-label';
    label.style.backgroundColor = this.color;
    // Shown through CSS so that the name never becomes part of the cell's text or a copy.
    label.dataset.name = this.name;
    caret.appendChild(label);
    return caret;
  }
}

/**
 * Shows other collaborators' cursors and selections in one cell editor and publishes ours.
 * Positions are Yjs relative positions, so they stay on the right character while others type.
 */
export function remoteCursors(shared: SharedSource): Extension | null {
  const ytext = shared.ysource;
  const maybeAwareness = shared.awareness;
  const cellId = shared.id ?? '';
  if (!ytext || !maybeAwareness || !ytext.doc) return null;
  const awareness: Awareness = maybeAwareness;
  const doc = ytext.doc;

  const plugin = ViewPlugin.fromClass(
    class {
      decorations: DecorationSet;
      private readonly onChange = () => {
        this.decorations = this.build();
        // An empty transaction makes CodeMirror re-read the decorations.
        queueMicrotask(() => this.view.dispatch({}));
      };

      constructor(private readonly view: EditorView) {
        this.decorations = this.build();
        awareness.on('change', this.onChange);
      }

      update(update: ViewUpdate): void {
        if (update.selectionSet || update.focusChanged) this.publish(update.view);
        if (update.docChanged) this.decorations = this.build();
      }

      destroy(): void {
        awareness.off('change', this.onChange);
      }

      private publish(view: EditorView): void {
        const local = awareness.getLocalState() as PresenceState | null;
        if (!view.hasFocus) {
          if (local?.cursor?.cell === cellId) awareness.setLocalStateField('cursor', null);
          return;
        }
        const { anchor, head } = view.state.selection.main;
        awareness.setLocalStateField('cursor', {
          cell: cellId,
          anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, anchor)),
          head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, head)),
        });
      }

      private build(): DecorationSet {
        const length = this.view.state.doc.length;
        const marks: { from: number; to: number; deco: Decoration }[] = [];
        awareness.getStates().forEach((raw, clientId) => {
          const state = raw as PresenceState;
          if (clientId === awareness.clientID || state.cursor?.cell !== cellId || !state.user) return;
          const anchor = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(state.cursor.anchor), doc);
          const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(state.cursor.head), doc);
          if (!anchor || !head || anchor.type !== ytext || head.type !== ytext) return;
          const at = Math.min(head.index, length);
          const from = Math.min(anchor.index, at, length);
          const to = Math.max(Math.min(anchor.index, length), at);
          if (from < to)
            marks.push({
              from,
              to,
              deco: Decoration.mark({ class: 'tandem-RemoteSelection', attributes: { style: `background-color: ${state.user.color}33` } }),
            });
          marks.push({
            from: at,
            to: at,
            deco: Decoration.widget({ widget: new Caret(state.user.displayName || state.user.name, state.user.color), side: 1 }),
          });
        });
        marks.sort((a, b) => a.from - b.from || a.to - b.to);
        const builder = new RangeSetBuilder<Decoration>();
        for (const m of marks) builder.add(m.from, m.to, m.deco);
        return builder.finish();
      }
    },
    { decorations: (v) => v.decorations },
  );
  return plugin;
}

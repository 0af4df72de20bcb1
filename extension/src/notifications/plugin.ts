import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { CommandIDs } from '../commands';
import type { TandemClient } from '../requests';
import { ITandemClient } from '../tokens';
import { NotificationsApi, type InboxNotification } from './api';
import { Inbox } from './inbox';

/** Shows pipeline, job, alias and dashboard notifications the person subscribed to in JupyterLab's notification area. */
export const notificationsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:notifications',
  description: 'Tandem notifications in the JupyterLab notification area.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, client: TandemClient, translator: ITranslator | null) => {
    const trans = (translator ?? nullTranslator).load('tandem');
    const api = new NotificationsApi(client);
    const show = (n: InboxNotification) => {
      const opensJobs = n.resource.type === 'pipeline' || n.resource.type === 'job';
      const options = {
        // Failures stay until dismissed; the rest go after a while (all stay in the notification center).
        autoClose: n.level === 'error' ? (false as const) : 8000,
        actions: opensJobs ? [{ label: trans.__('Open Jobs'), callback: () => void app.commands.execute(CommandIDs.openJobs) }] : [],
      };
      const message = `${n.title}: ${n.text}`;
      if (n.level === 'error') Notification.error(message, options);
      else if (n.level === 'success') Notification.success(message, options);
      else Notification.info(message, options);
    };
    const inbox = new Inbox({
      unread: () => api.unread(),
      markRead: (id) => api.markRead(id),
      follow: (listener) => api.follow(listener),
      show,
      onError: (error) => console.warn('Tandem notifications:', error),
    });
    void inbox.start();
  },
};

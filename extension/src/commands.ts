/** Every command id the extension registers, in one place. */
export namespace CommandIDs {
  export const openModels = 'tandem:open-models';
  export const openExperiments = 'tandem:open-experiments';
  export const compareRuns = 'tandem:compare-runs';
  export const openRunNotebook = 'tandem:open-run-notebook';
  export const registerRun = 'tandem:register-run';
  export const openJobs = 'tandem:open-jobs';
  export const publishDashboard = 'tandem:publish-dashboard';
  export const openDashboards = 'tandem:open-dashboards';
  export const newFromTemplate = 'tandem:new-from-template';
  export const newSharedNotebook = 'tandem:new-shared-notebook';
  export const importSharedNotebook = 'tandem:import-shared-notebook';
  export const shareSharedNotebook = 'tandem:share-shared-notebook';
  export const downloadSharedNotebook = 'tandem:download-shared-notebook';
  export const signIn = 'tandem:sign-in';
  export const signOut = 'tandem:sign-out';
  export const openAdmin = 'tandem:open-admin';
}

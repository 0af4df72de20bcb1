/** Every command id the extension registers, in one place. */
export namespace CommandIDs {
  export const openModels = 'tandem:open-models';
  export const openJobs = 'tandem:open-jobs';
  export const publishDashboard = 'tandem:publish-dashboard';
  export const newFromTemplate = 'tandem:new-from-template';
  export const newSharedNotebook = 'tandem:new-shared-notebook';
  export const importSharedNotebook = 'tandem:import-shared-notebook';
  export const shareSharedNotebook = 'tandem:share-shared-notebook';
  export const downloadSharedNotebook = 'tandem:download-shared-notebook';
}

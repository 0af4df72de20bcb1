/** Every command id the extension registers, in one place. */
export namespace CommandIDs {
  export const openModels = 'tandem:open-models';
  export const openJobs = 'tandem:open-jobs';
  export const publishDashboard = 'tandem:publish-dashboard';
  export const newFromTemplate = 'tandem:new-from-template';
}

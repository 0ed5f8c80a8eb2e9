/** The job kinds the Migration tab shows: migrations, and the decommissions of the guests they left. */
export const MIGRATION_JOB_KIND = 'instance.migrate';
export const DECOMMISSION_JOB_KIND = 'instance.decommission';

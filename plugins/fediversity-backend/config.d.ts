export interface Config {
  fediversity?: {
    /**
     * Allow an in-memory SQLite database (jobs are lost on restart). For tests only.
     */
    allowInMemoryDatabase?: boolean;
  };
}

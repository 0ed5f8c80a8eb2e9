import '@testing-library/jest-dom';

// Booting the whole app under jsdom takes seconds on the two shared CI cores.
jest.setTimeout(60_000);

import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// The CI machine has two shared cores; lazy-loaded BUI/react-aria tables can take seconds to render there.
configure({ asyncUtilTimeout: 10_000 });
jest.setTimeout(30_000);

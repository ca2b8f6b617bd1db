// Runs before every plugin test file: what jsdom lacks, and jest-dom's matchers. Component tests
// import ./render.tsx first, which loads the Headlamp lib; pure-logic tests do not pay for it.
import './dom';
import '@testing-library/jest-dom/vitest';
import { configure } from '@testing-library/react';

// findBy/waitFor give up after 1 s by default; a busy CI machine can take longer to render.
configure({ asyncUtilTimeout: 5000 });

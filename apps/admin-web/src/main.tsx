import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ConsoleSession } from './api/console-session.ts';
import { App } from './app.tsx';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App session={new ConsoleSession()} />
  </StrictMode>,
);

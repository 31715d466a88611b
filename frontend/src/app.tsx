import { useState } from 'preact/hooks';
import { SignIn } from './signin';

/** The app frame: a header with the product name and one main area. */
export function App() {
  const [signedIn, setSignedIn] = useState(false);

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="app-header">
        <span class="brand">
          <img class="brand-mark" src="/favicon.svg" alt="" width="28" height="28" />
          Bevis
        </span>
      </header>
      <main id="main" class="app-main" tabIndex={-1}>
        {signedIn ? (
          <section class="panel" aria-labelledby="welcome-title">
            <h1 id="welcome-title">Signed in</h1>
            <p>Your cases will appear here.</p>
          </section>
        ) : (
          <SignIn onSignedIn={() => setSignedIn(true)} />
        )}
      </main>
    </>
  );
}

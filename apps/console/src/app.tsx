import { useEffect, useState } from 'preact/hooks';
import { UNAUTHORIZED_EVENT, adminKey } from './api';
import { Activity } from './pages/activity';
import { DeadLetters } from './pages/dead-letters';
import { EventDetail } from './pages/event-detail';
import { Overview } from './pages/overview';
import { RuleEditor, Rules } from './pages/rules';
import { SignIn } from './pages/sign-in';
import { SubscriberProfile, Subscribers } from './pages/subscribers';
import { Suppressions } from './pages/suppressions';
import { link, useRoute, type Route } from './router';

const SECTIONS = [
  { path: 'overview', label: 'Overview' },
  { path: 'activity', label: 'Activity' },
  { path: 'dead-letters', label: 'Dead letters' },
  { path: 'suppressions', label: 'Suppressions' },
  { path: 'subscribers', label: 'Subscribers' },
  { path: 'rules', label: 'Rules' },
];
/** Pages reached from a section's list belong to that section in the navigation. */
const SECTION_OF: Record<string, string> = { events: 'activity' };

function page(route: Route) {
  const [section = 'overview', id] = route.parts;
  switch (section) {
    case 'activity':
      return <Activity route={route} />;
    case 'events':
      return id ? <EventDetail id={id} /> : <Activity route={route} />;
    case 'dead-letters':
      return <DeadLetters route={route} />;
    case 'suppressions':
      return <Suppressions route={route} />;
    case 'subscribers':
      return id ? <SubscriberProfile id={id} /> : <Subscribers />;
    case 'rules':
      return id ? <RuleEditor eventType={id} /> : <Rules />;
    default:
      return <Overview />;
  }
}

export function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => adminKey.get() !== null);
  const [notice, setNotice] = useState<string>();
  // Only a key that worked can be refused later: a wrong key at sign-in is the sign-in form's to explain.
  useEffect(() => {
    if (!signedIn) return;
    const refused = () => {
      adminKey.clear();
      setNotice('Herald refused the key (revoked or rotated?): sign in again.');
      setSignedIn(false);
    };
    window.addEventListener(UNAUTHORIZED_EVENT, refused);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, refused);
  }, [signedIn]);

  if (!signedIn) return <SignIn notice={notice} onSignedIn={() => setSignedIn(true)} />;
  const current = SECTION_OF[route.parts[0] ?? ''] ?? route.parts[0] ?? 'overview';
  const signOut = () => {
    adminKey.clear();
    setNotice('Signed out.');
    setSignedIn(false);
  };
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Herald</span>
        <nav aria-label="Console sections">
          <ul>
            {SECTIONS.map((s) => (
              <li key={s.path}>
                <a href={link([s.path])} aria-current={current === s.path ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page(route)}
      </main>
    </>
  );
}

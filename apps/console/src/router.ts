import { useEffect, useState } from 'preact/hooks';
import { query } from './api';

/** Where the console is: `#/events/<id>?tab=x` → parts ['events', '<id>'] and the params. */
export interface Route {
  parts: string[];
  params: URLSearchParams;
}

function current(): Route {
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
  };
}

/** The route in the location hash, updated on every change (links, back and forward). */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** An href for a console page: `link(['events', id])`, `link(['activity'], { type })`. */
export function link(parts: string[], params: Record<string, string | undefined> = {}): string {
  return `#/${parts.map(encodeURIComponent).join('/')}${query(params)}`;
}

export function navigate(parts: string[], params: Record<string, string | undefined> = {}): void {
  location.hash = link(parts, params);
}

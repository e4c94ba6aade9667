import { mcpEndpoint, parseInvocation } from './bridge';

describe('parseInvocation', () => {
  const key = { HERALD_API_KEY: 'hk_secret' };

  it('takes the URL from --url, else HERALD_URL, else localhost:3000, and the key from HERALD_API_KEY', () => {
    const endpoint = (argv: string[], env: Record<string, string>) => {
      const invocation = parseInvocation(argv, env);
      return invocation.kind === 'run' ? [invocation.endpoint.href, invocation.key] : invocation;
    };
    expect(endpoint(['--url', 'https://herald.example/'], key)).toEqual(['https://herald.example/mcp', 'hk_secret']);
    expect(endpoint(['--url=http://h:8080/herald'], key)).toEqual(['http://h:8080/herald/mcp', 'hk_secret']);
    expect(endpoint([], { ...key, HERALD_URL: 'http://h:1' })).toEqual(['http://h:1/mcp', 'hk_secret']);
    expect(endpoint([], key)).toEqual(['http://localhost:3000/mcp', 'hk_secret']);
  });

  it('refuses a missing key, a key flag, stray arguments and a URL that is not http(s), never echoing values', () => {
    const message = (argv: string[], env: Record<string, string> = key) => {
      const invocation = parseInvocation(argv, env);
      return invocation.kind === 'error' ? invocation.message : invocation.kind;
    };
    expect(message([], {})).toMatch(/^HERALD_API_KEY is not set/);
    expect(message([], { HERALD_API_KEY: '  ' })).toMatch(/^HERALD_API_KEY is not set/);
    expect(message(['--api-key=hk_typed'])).toMatch(/^--api-key is not accepted.*HERALD_API_KEY/);
    expect(message(['hk_typed'])).toMatch(/^unexpected argument/);
    expect(message(['--url'])).toMatch(/^--url needs a value/);
    expect(message(['--url', 'ftp://x'])).toMatch(/not an http\(s\) URL/);
    expect(message(['--verbose=hk_typed'])).toBe('unknown option --verbose (see --help)');
    for (const argv of [['--api-key=hk_typed'], ['hk_typed'], ['--verbose=hk_typed']]) {
      expect(message(argv)).not.toContain('hk_typed');
    }
    expect(message(['--help'], {})).toBe('help');
  });
});

describe('mcpEndpoint', () => {
  it('appends /mcp to the base path, whatever its trailing slashes', () => {
    expect(mcpEndpoint('http://localhost:3000').href).toBe('http://localhost:3000/mcp');
    expect(mcpEndpoint('http://localhost:3000//').href).toBe('http://localhost:3000/mcp');
    expect(mcpEndpoint('https://example.com/herald/#x').href).toBe('https://example.com/herald/mcp');
  });
});

import { render } from 'solid-js/web';
import { App } from './App.tsx';
import { signInDisplay } from './lib/display-token.ts';
import './theme.css';

// A TV opened with /?display=<token> trades the token for an HttpOnly cookie first, then forgets it.
void signInDisplay().then(() => render(() => <App />, document.getElementById('root')!));

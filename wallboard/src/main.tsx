import { render } from 'solid-js/web';
import { App } from './App.tsx';
import './theme.css';

render(() => <App />, document.getElementById('root')!);

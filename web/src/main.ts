import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import './models.css';
import './usage.css';
import './audit.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html must contain #app');

export default mount(App, { target });

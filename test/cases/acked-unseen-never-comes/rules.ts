export { default } from '../record-rules.ts';

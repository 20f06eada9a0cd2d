export const dep = 'dep v1';

export const plain = 'plain v1';

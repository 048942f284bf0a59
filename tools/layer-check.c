// SPDX-License-Identifier: MIT
/* Linked with one library whole and only the layers it may use: any call
 * into a layer above is an undefined symbol, so the build fails. */
int main(void)
{
	return 0;
}
